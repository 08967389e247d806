import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { MetadataEntry } from "../../metadata/metadata-store.js";
import { LocationHints } from "../../sdk/location-hints.js";
import type { EncodedKey } from "../../src/keys.js";

const str = (s: string): EncodedKey => ({ kind: "str", bytes: Buffer.from(s) });
const tok = (...t: number[]): EncodedKey => {
  const bytes = Buffer.alloc(4 * t.length);
  t.forEach((v, i) => bytes.writeUInt32BE(v, 4 * i));
  return { kind: "tok", bytes };
};
let ids = 0;
const entry = (key: EncodedKey): MetadataEntry => ({
  key, revision: String(++ids), descriptor: { blockId: `b${ids}`, size: 10, checksum: 1, holders: ["n1"], s3: false, createdAt: 0 },
});
const keyOf = (e: MetadataEntry | undefined): string | undefined => (e === undefined ? undefined : Buffer.from(e.key.bytes).toString());

describe("LocationHints", () => {
  it("guesses the deepest remembered key that is a prefix of the query, the query itself included", async () => {
    const hints = new LocationHints(1 << 20);
    for (const k of ["a", "a/b", "a/b/c/d", "b"]) hints.learn(entry(str(k)));
    const cases: [string, string | undefined][] = [["a/b/c", "a/b"], ["a/b/c/d", "a/b/c/d"], ["a/b/c/d/e", "a/b/c/d"], ["ab", "a"], ["c", undefined], ["", undefined]];
    for (const [query, expected] of cases) expect(keyOf(await hints.guess(str(query))), query).toBe(expected);
  });

  it("keeps token and string keys apart, and token prefixes whole tokens", async () => {
    const hints = new LocationHints(1 << 20);
    hints.learn(entry(tok(1, 2)));
    hints.learn(entry({ kind: "str", bytes: tok(1).bytes }));
    expect((await hints.guess(tok(1, 2, 3)))?.key.kind).toBe("tok");
    expect((await hints.guess(tok(1, 3)))).toBeUndefined();
    expect((await hints.guess({ kind: "str", bytes: tok(1, 2, 3).bytes }))?.key.kind).toBe("str");
  });

  it("a newer answer for a key replaces the old one; forget drops only the entry it is given", async () => {
    const hints = new LocationHints(1 << 20);
    const first = entry(str("k"));
    const second = entry(str("k"));
    hints.learn(first);
    hints.learn(second);
    expect(hints.size).toBe(1);
    expect((await hints.guess(str("k/more")))?.descriptor.blockId).toBe(second.descriptor.blockId);
    hints.forget(first);
    expect((await hints.guess(str("k")))?.descriptor.blockId).toBe(second.descriptor.blockId);
    hints.forget(second);
    expect(await hints.guess(str("k"))).toBeUndefined();
    expect(hints.size).toBe(0);
  });

  it("stays within its bytes, dropping the least recently used first", async () => {
    // 2 × 4 key bytes + 256 per hint: 10 fit in 2,640 bytes.
    const hints = new LocationHints(2_640);
    const all = Array.from({ length: 30 }, (_, i) => entry(str(`k${String(i).padStart(3, "0")}`)));
    for (const e of all.slice(0, 10)) hints.learn(e);
    hints.learn(all[0]!); // used again: the oldest is now k001
    for (const e of all.slice(10)) {
      hints.learn(e);
      expect(hints.size).toBeLessThanOrEqual(10);
    }
    expect(hints.size).toBe(10);
    expect(await hints.guess(str("k001"))).toBeUndefined();
    expect(keyOf(await hints.guess(str("k029/x")))).toBe("k029");
    // A key too large to ever fit is not kept (and evicts nothing).
    hints.learn(entry(str("x".repeat(2_000))));
    expect(hints.size).toBe(10);
  });

  it("agrees with a brute-force search over what it holds", async () => {
    const key = fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b.map((x) => x % 3)));
    await fc.assert(fc.asyncProperty(fc.array(key, { maxLength: 40 }), key, async (stored, query) => {
      const hints = new LocationHints(1 << 20);
      for (const k of stored) hints.learn(entry({ kind: "str", bytes: k }));
      const expected = stored.filter((k) => query.subarray(0, k.length).equals(k)).sort((a, b) => b.length - a.length)[0];
      const got = await hints.guess({ kind: "str", bytes: query });
      expect(got === undefined ? undefined : Buffer.from(got.key.bytes).toString("hex")).toBe(expected?.toString("hex"));
    }));
  });
});
