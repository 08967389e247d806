import { describe, expect, it } from "vitest";
import { pairedRange, summarize, type Round } from "../../bench/measure.js";
import { ratioOf, renderTable, targetMet, type BenchRow } from "../../bench/report.js";

const round = (seconds: number, bytes: number, cpuSeconds?: number): Round => ({ seconds, ops: 10, bytes, ...(cpuSeconds === undefined ? {} : { cpuSeconds }) });

describe("bench report", () => {
  it("summarises rounds by their medians and pairs rounds for the ratio's spread", () => {
    const ours = [round(1, 2e9, 0.01), round(1, 1e9, 0.02), round(2, 2e9, 0.03)];
    const theirs = [round(1, 1e9), round(1, 1e9), round(1, 2e9)];
    expect(summarize(ours)).toEqual({ gbps: 1, opsps: 10, cpuMsPerOp: 2 });
    expect(pairedRange(ours, theirs)).toEqual([0.5, 2]);
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
});
