import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExtentAllocator, type Extent } from "../../storage/extent-allocator.js";

describe("ExtentAllocator", () => {
  it("hands out the lowest hole that fits and merges neighbours on release", () => {
    const a = new ExtentAllocator(100);
    const [x, y, z] = [a.allocate(30)!, a.allocate(30)!, a.allocate(40)!];
    expect([x.offset, y.offset, z.offset]).toEqual([0, 30, 60]);
    expect(a.allocate(1)).toBeUndefined();
    a.release(x);
    a.release(z);
    expect(a.freeBytes).toBe(70);
    expect(a.allocate(50)).toBeUndefined(); // 70 free, but in two holes of 30 and 40
    a.release(y);
    expect(a.allocate(100)).toEqual({ offset: 0, length: 100 });
  });

  it("refuses to release what it did not hand out", () => {
    const a = new ExtentAllocator(100);
    const x = a.allocate(10)!;
    a.release(x);
    expect(() => a.release(x)).toThrow(RangeError);
    expect(() => a.release({ offset: 95, length: 10 })).toThrow(RangeError);
  });

  it("never hands out overlapping extents, and gets all space back (random sequences)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 300 }), fc.nat()), { maxLength: 200 }), (ops) => {
        const size = 1000;
        const a = new ExtentAllocator(size);
        const live: Extent[] = [];
        for (const [take, length, pick] of ops) {
          if (take || live.length === 0) {
            const got = a.allocate(length);
            if (got === undefined) continue;
            for (const other of live) expect(got.offset + got.length <= other.offset || other.offset + other.length <= got.offset).toBe(true);
            expect(got.offset + got.length).toBeLessThanOrEqual(size);
            live.push(got);
          } else {
            a.release(live.splice(pick % live.length, 1)[0]!);
          }
          expect(a.freeBytes).toBe(size - live.reduce((sum, e) => sum + e.length, 0));
        }
        for (const e of live) a.release(e);
        expect(a.allocate(size)).toEqual({ offset: 0, length: size });
      }),
    );
  });
});
