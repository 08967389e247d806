import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes } from "../../metadata/bytes.js";
import { SortedKeySpace } from "../../metadata/sorted-key-space.js";

type Op = { kind: "set" | "delete"; key: Buffer };
const keyArb = fc.uint8Array({ minLength: 0, maxLength: 3 }).map((a) => Buffer.from(a.map((b) => b % 4)));
const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom("set" as const, "set" as const, "delete" as const), key: keyArb });

describe("SortedKeySpace", () => {
  it("behaves like a sorted map, across chunk splits and merges", () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 1500 }), keyArb, keyArb, fc.integer({ min: 1, max: 20 }), (ops, a, b, limit) => {
      const space = new SortedKeySpace<number>();
      const model = new Map<string, number>();
      ops.forEach((op, i) => {
        const id = op.key.toString("hex");
        if (op.kind === "set") {
          expect(space.set(op.key, i)).toBe(model.get(id));
          model.set(id, i);
        } else {
          expect(space.delete(op.key)).toBe(model.get(id));
          model.delete(id);
        }
      });
      const sorted = [...model.entries()].map(([k, v]) => ({ key: Buffer.from(k, "hex"), value: v })).sort((x, y) => compareBytes(x.key, y.key));
      expect(space.size).toBe(sorted.length);
      const [lo, hi] = compareBytes(a, b) <= 0 ? [a, b] : [b, a];
      const want = sorted.filter((e) => compareBytes(e.key, lo) >= 0 && compareBytes(e.key, hi) <= 0).reverse().slice(0, limit);
      expect(space.descending(hi, lo, limit).map((e) => [Buffer.from(e.key).toString("hex"), e.value])).toEqual(want.map((e) => [e.key.toString("hex"), e.value]));
      const after = sorted.filter((e) => compareBytes(e.key, lo) > 0).slice(0, limit);
      expect(space.ascendingAfter(lo, limit).map((e) => e.value)).toEqual(after.map((e) => e.value));
      for (const e of sorted.slice(0, 5)) expect(space.get(e.key)).toBe(e.value);
    }), { numRuns: 200 });
  });

  it("splits chunks under a bulk load of 100,000 keys in random order", () => {
    const space = new SortedKeySpace<number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) space.set(Buffer.from(String((i * 7919) % n)), i);
    expect(space.size).toBe(n);
    const page = space.ascendingAfter(undefined, n);
    expect(page.every((e, i) => i === 0 || compareBytes(page[i - 1]!.key, e.key) < 0)).toBe(true);
  });
});
