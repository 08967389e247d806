import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bruteForceLongestPrefix, longestPrefix, type DescendingRange, type LongestPrefixOptions, type PointLookup } from "../../metadata/longest-prefix.js";
import { SortedKeySpace } from "../../metadata/sorted-key-space.js";
import { encodeKey } from "../../src/keys.js";

/** A range function over an in-memory space that counts requests and keys returned. */
function countingRange(keys: Iterable<Uint8Array>): { range: DescendingRange<string>; stats: { requests: number; keysRead: number } } {
  const space = new SortedKeySpace<string>();
  for (const k of keys) space.set(k, Buffer.from(k).toString("hex"));
  const stats = { requests: 0, keysRead: 0 };
  const range: DescendingRange<string> = async (upper, lower, limit) => {
    stats.requests += 1;
    const batch = space.descending(upper, lower, limit);
    stats.keysRead += batch.length;
    return batch;
  };
  return { range, stats };
}

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");
const hexOf = (k: Uint8Array | undefined): string | undefined => (k === undefined ? undefined : Buffer.from(k).toString("hex"));

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((a) => Buffer.from(a.map((b) => [0x00, 0x01, 0x61, 0x62, 0xff][b % 5]!)));
const optionsArb: fc.Arbitrary<LongestPrefixOptions> = fc.record({
  batchSize: fc.integer({ min: 1, max: 10 }),
  windowBytes: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Infinity)),
  windowGrowth: fc.integer({ min: 2, max: 16 }),
});

describe("longestPrefix (descending range scans)", () => {
  it("equals brute force for any key set, query and tuning, within |q| + 1 requests", async () => {
    await fc.assert(fc.asyncProperty(fc.uniqueArray(keyArb, { maxLength: 40, selector: (k) => k.toString("hex") }), keyArb, keyArb, optionsArb, async (keys, a, b, options) => {
      const { range, stats } = countingRange(keys);
      for (const query of [a, Buffer.concat([a, b]), ...keys.slice(0, 3).map((k) => Buffer.concat([k, b]))]) {
        stats.requests = 0;
        stats.keysRead = 0;
        const got = await longestPrefix(query, range, options);
        expect(hexOf(got?.key)).toBe(hexOf(bruteForceLongestPrefix(query, keys.map((k) => ({ key: k, value: "" })))?.key));
        expect(stats.requests).toBeLessThanOrEqual(query.length + 1);
        expect(stats.keysRead).toBeLessThanOrEqual(stats.requests * (options.batchSize ?? 8));
      }
    }), { numRuns: 500 });
  });

  it("equals brute force when ranges it is told are dense are read as point reads instead", async () => {
    // dense: a predicate on the range's lower end, drawn at random; maxCandidates 1 – 4.
    const pointsArb = fc.record({ seed: fc.integer({ min: 0, max: 6 }), maxCandidates: fc.integer({ min: 1, max: 4 }) });
    await fc.assert(fc.asyncProperty(fc.uniqueArray(keyArb, { maxLength: 40, selector: (k) => k.toString("hex") }), keyArb, keyArb, optionsArb, pointsArb, async (keys, a, b, options, p) => {
      const { range } = countingRange(keys);
      const stored = new Map(keys.map((k) => [k.toString("hex"), k]));
      let pointReads = 0;
      const points: PointLookup<string> = {
        dense: (lower) => p.seed === 0 || (lower.length + (lower[0] ?? 0)) % p.seed === 0,
        read: async (wanted) => {
          pointReads += wanted.length;
          return wanted.map((k) => (stored.has(Buffer.from(k).toString("hex")) ? { key: k, value: "" } : undefined));
        },
        maxCandidates: p.maxCandidates,
      };
      for (const query of [a, Buffer.concat([a, b]), ...keys.slice(0, 3).map((k) => Buffer.concat([k, b]))]) {
        const got = await longestPrefix(query, range, options, points);
        expect(hexOf(got?.key)).toBe(hexOf(bruteForceLongestPrefix(query, keys.map((k) => ({ key: k, value: "" })))?.key));
      }
      if (p.seed === 0) expect(pointReads).toBeGreaterThan(0); // always dense: every query is read point by point
    }), { numRuns: 500 });
  });

  it("reads a dense range's candidates longest first, at most maxCandidates a round, and goes on below them", async () => {
    const { range, stats } = countingRange(["a", "ab", "abcdef"].map(bytes));
    const asked: string[][] = [];
    const points: PointLookup<string> = {
      dense: (lower) => lower.length === 1, // the range from the first byte: as if many keys shared it
      read: async (wanted) => {
        asked.push(wanted.map((k) => Buffer.from(k).toString("latin1")));
        return wanted.map((k) => (["a", "ab", "abcdef"].includes(Buffer.from(k).toString("latin1")) ? { key: k, value: "" } : undefined));
      },
      maxCandidates: 2,
    };
    expect(hexOf((await longestPrefix(bytes("abcd"), range, {}, points))?.key)).toBe(hexOf(bytes("ab")));
    expect(asked).toEqual([["abcd", "abc"], ["ab", "a"]]);
    expect(stats.requests).toBe(0);
  });

  it("works on token keys, 4 bytes a unit", async () => {
    const tokenKeys = [[1], [1, 2], [1, 2, 3], [1, 0x0200_0000], [2]].map((t) => encodeKey(t, 1024).bytes);
    const { range } = countingRange(tokenKeys);
    const query = Buffer.concat([tokenKeys[1]!, Buffer.from([0, 0, 0, 4])]);
    expect(hexOf((await longestPrefix(query, range, { unit: 4 }))?.key)).toBe(hexOf(tokenKeys[1]));
    const other = Buffer.concat([tokenKeys[0]!, Buffer.from([0x02, 0, 0, 1])]);
    expect(hexOf((await longestPrefix(other, range, { unit: 4 }))?.key)).toBe(hexOf(tokenKeys[0]));
  });

  it("answers a query extending the deepest key of a chain in one request", async () => {
    const { range, stats } = countingRange(["a", "ab", "abc", "abcd", "b", "ba"].map(bytes));
    expect(hexOf((await longestPrefix(bytes("abcdefgh"), range))?.key)).toBe(hexOf(bytes("abcd")));
    expect(stats.requests).toBe(1);
  });

  it("reads two batches, not the namespace, when 9,999 keys sort between the answer and the query", async () => {
    const between = Array.from({ length: 9_999 }, (_, i) => bytes(`ay${String(i).padStart(5, "0")}`));
    const { range, stats } = countingRange([bytes("a"), ...between]);
    expect(hexOf((await longestPrefix(bytes(`a${"z".repeat(50)}`), range))?.key)).toBe(hexOf(bytes("a")));
    expect(stats.requests).toBe(2);
    expect(stats.keysRead).toBeLessThanOrEqual(16);
  });

  it("widens its window geometrically when the answer is far below a long query", async () => {
    const { range, stats } = countingRange([bytes("a")]);
    const query = bytes(`a${"q".repeat(999)}`);
    expect(hexOf((await longestPrefix(query, range, { windowBytes: 2, windowGrowth: 16 }))?.key)).toBe(hexOf(bytes("a")));
    expect(stats.requests).toBe(4); // windows of 2, 32, 512, then the rest
  });

  it("refuses a range function that breaks its contract instead of looping", async () => {
    const outside: DescendingRange<string> = async () => [{ key: bytes("zzz"), value: "" }];
    await expect(longestPrefix(bytes("abc"), outside)).rejects.toThrow(/outside/);
    const ascending: DescendingRange<string> = async () => [{ key: bytes("a"), value: "" }, { key: bytes("ab"), value: "" }];
    await expect(longestPrefix(bytes("abc"), ascending)).rejects.toThrow(/descending/);
  });
});
