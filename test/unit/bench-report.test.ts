import { describe, expect, it } from "vitest";
import { balancedRounds, interleave, pairedRange, roundOrder, summarize, type Round } from "../../bench/measure.js";
import { ratioOf, renderTable, targetMet, type BenchRow } from "../../bench/report.js";

const round = (seconds: number, bytes: number, cpuSeconds?: number): Round => ({ seconds, ops: 10, bytes, ...(cpuSeconds === undefined ? {} : { cpuSeconds }) });

describe("bench report", () => {
  it("summarises throughput by the median round, CPU over all rounds, and pairs rounds for the ratio's spread", () => {
    const ours = [round(1, 2e9, 0.01), round(1, 1e9, 0.02), round(2, 2e9, 0.03)];
    const theirs = [round(1, 1e9), round(1, 1e9), round(1, 2e9)];
    expect(summarize(ours)).toEqual({ gbps: 1, opsps: 10, cpuMsPerOp: 2 });
    expect(pairedRange(ours, theirs)).toEqual([0.5, 2]);
    // CPU read in 10 ms ticks: rounds of 2, 3 and 3 ticks are 80 ms over 30 operations, not the median round's 3 ms each.
    expect(summarize([round(1, 1e9, 0.02), round(1, 1e9, 0.03), round(1, 1e9, 0.03)]).cpuMsPerOp).toBeCloseTo(8 / 3, 10);
    expect(summarize([round(1, 1e9, 0.02), round(1, 1e9)]).cpuMsPerOp).toBeNaN();
  });

  it("checks targets against the ratio and prints the spread beside it", () => {
    const row: BenchRow = {
      section: "hot", name: "load", value: 3, unit: "GB/s", baseline: { name: "Redis", value: 2 }, ratioRange: [1.25, 1.75], target: { op: ">=", ratio: 2 },
    };
    expect(ratioOf(row)).toBe(1.5);
    expect(targetMet(row)).toBe(false);
    expect(targetMet({ ...row, target: { op: "<=", ratio: 1.5 } })).toBe(true);
    const table = renderTable([row]);
    expect(table).toContain("1.50× (1.25–1.75)");
    expect(table).toContain("≥ 2.0× MISSED");
  });

  it("checks a target on the value itself when the row says so (growth rows)", () => {
    const row: BenchRow = { section: "lookup", name: "growth", value: 1.1, unit: "×", baseline: { name: "etcd GET's growth", value: 2 }, target: { op: "<=", ratio: 1.2, of: "value" } };
    expect(targetMet(row)).toBe(true); // the ratio (0.55) is not what is checked
    expect(targetMet({ ...row, value: 1.3, baseline: { name: "etcd GET's growth", value: 1.3 } })).toBe(false);
    expect(renderTable([row])).toContain("value ≤ 1.2× met");
  });

  it("orders each time round so that every contender comes right after every other equally often", async () => {
    for (const n of [2, 3, 5, 6]) {
      const names = Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i));
      const rows = n % 2 === 0 ? n : 2 * n;
      const follows = new Map<string, number>();
      for (let r = 0; r < rows; r++) {
        const order = roundOrder(names, r);
        expect([...order].sort()).toEqual(names);
        order.slice(1).forEach((name, i) => follows.set(`${order[i]}>${name}`, (follows.get(`${order[i]}>${name}`) ?? 0) + 1));
        expect(roundOrder(names, r + rows)).toEqual(order);
      }
      expect(follows.size).toBe(n * (n - 1));
      expect(new Set(follows.values())).toEqual(new Set([n % 2 === 0 ? 1 : 2]));
    }
    expect(roundOrder(["only"], 5)).toEqual(["only"]);
    const ran: string[] = [];
    const round = (name: string) => async (): Promise<Round> => {
      ran.push(name);
      return { ops: 1, bytes: 1, seconds: ran.length };
    };
    const result = await interleave(2, { a: round("a"), b: round("b") });
    expect(ran.join("")).toBe("abba");
    expect(result["a"]!.map((r) => r.seconds)).toEqual([1, 4]);
  });

  it("rounds a run up to whole periods of that order", () => {
    expect([2, 3, 5, 6].map((n) => balancedRounds(7, n))).toEqual([8, 12, 10, 12]);
    expect(balancedRounds(12, 6)).toBe(12);
    expect(balancedRounds(3, 6)).toBe(6);
    expect(balancedRounds(7, 1)).toBe(7);
  });
});
