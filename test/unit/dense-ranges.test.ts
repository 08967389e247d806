import { describe, expect, it } from "vitest";
import { DenseRanges } from "../../metadata/dense-ranges.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

describe("DenseRanges", () => {
  it("remembers a range start only when its range spanned more keys than the threshold", () => {
    const dense = new DenseRanges(16);
    dense.note(b("/r/ns/x/s/"), b("u"), 16);
    expect(dense.has(b("/r/ns/x/s/"), b("u"))).toBe(false);
    dense.note(b("/r/ns/x/s/"), b("u"), 17);
    expect(dense.has(b("/r/ns/x/s/"), b("u"))).toBe(true);
    expect(dense.has(b("/r/ns/y/s/"), b("u"))).toBe(false); // another namespace's range
    dense.note(b("/r/ns/x/s/"), b("v"), Number.NaN); // a response without a count
    expect(dense.has(b("/r/ns/x/s/"), b("v"))).toBe(false);
  });

  it("keys byte strings exactly, views included, and stays within its bound", () => {
    const dense = new DenseRanges(0, 2);
    const backing = b("xx/ab\u00ff");
    dense.note(b("/s/"), backing.subarray(3), 1);
    expect(dense.has(b("/s/"), b("ab\u00ff"))).toBe(true);
    expect(dense.has(b("/s/"), b("ab"))).toBe(false);
    dense.note(b("/s/"), b("c"), 1);
    dense.note(b("/s/"), b("d"), 1);
    expect([b("ab\u00ff"), b("c"), b("d")].filter((k) => dense.has(b("/s/"), k))).toHaveLength(2);
  });
});
