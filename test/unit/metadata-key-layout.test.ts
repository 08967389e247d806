import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareBytes, isPrefixOf, prefixEnd } from "../../metadata/bytes.js";
import { escapeName, KeyLayout, unescapeName } from "../../metadata/key-layout.js";
import type { EncodedKey } from "../../src/keys.js";

const layout = new KeyLayout("/datenlord/kvcache");
const nameArb = fc.string({ unit: fc.constantFrom("a", "b", "-", ".", "_", "/", "%", "2", "F", " ", "é", "日", "👍"), minLength: 1, maxLength: 8 });
const keyArb: fc.Arbitrary<EncodedKey> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 12 }).map((bytes) => ({ kind: "str" as const, bytes })),
  fc.uint8Array({ minLength: 1, maxLength: 3 }).map((a) => ({ kind: "tok" as const, bytes: new Uint8Array(a.length * 4).map((_, i) => [0x00, 0xff, 0x61][(a[i >> 2]! + i) % 3]!) })),
);

describe("KeyLayout", () => {
  it("documents its layout with real keys", () => {
    expect(layout.entryKey("m/s", { kind: "str", bytes: Buffer.from("hi") }).toString("latin1")).toBe("/datenlord/kvcache/ns/m%2Fs/s/hi");
    expect(layout.entryKey("m", { kind: "tok", bytes: Buffer.from([0, 0, 0, 0xff]) })).toEqual(Buffer.concat([Buffer.from("/datenlord/kvcache/ns/m/t/"), Buffer.from([0, 0, 0, 0xff])]));
    expect(layout.nodeKey("node 1").toString()).toBe("/datenlord/kvcache/nodes/node%201");
  });

  it("escapes names reversibly into [A-Za-z0-9._%-], so no namespace space is a prefix of another's", () => {
    fc.assert(fc.property(nameArb, nameArb, (a, b) => {
      expect(escapeName(a)).toMatch(/^[A-Za-z0-9._%-]+$/);
      expect(unescapeName(escapeName(a))).toBe(a);
      if (a !== b) {
        expect(escapeName(a)).not.toBe(escapeName(b));
        expect(isPrefixOf(layout.kindPrefix(a, "str"), layout.kindPrefix(b, "str"))).toBe(false);
        expect(isPrefixOf(layout.kindPrefix(a, "str"), layout.kindPrefix(a, "tok"))).toBe(false);
      }
    }), { numRuns: 500 });
  });

  it("parses what it builds, and nothing else", () => {
    fc.assert(fc.property(nameArb, keyArb, (ns, key) => {
      const parsed = layout.parseEntryKey(layout.entryKey(ns, key));
      expect(parsed?.namespace).toBe(ns);
      expect(parsed?.key.kind).toBe(key.kind);
      expect(Buffer.from(parsed!.key.bytes).equals(Buffer.from(key.bytes))).toBe(true);
      expect(layout.parseNodeKey(layout.nodeKey(ns))).toBe(ns);
    }), { numRuns: 500 });
    expect(layout.parseEntryKey(Buffer.from("/other/ns/a/s/k"))).toBeUndefined();
    expect(layout.parseEntryKey(Buffer.from("/datenlord/kvcache/ns/a/x/k"))).toBeUndefined();
    expect(layout.parseEntryKey(Buffer.from("/datenlord/kvcache/ns/a%2f/s/k"))).toBeUndefined();
    expect(layout.parseEntryKey(Buffer.from("/datenlord/kvcache/ns/a/t/abc"))).toBeUndefined();
    expect(layout.parseEntryKey(Buffer.from("/datenlord/kvcache/ns/a/s/"))).toBeUndefined();
  });

  it("orders full keys of one space exactly as their key bytes, all inside the space's range", () => {
    fc.assert(fc.property(nameArb, keyArb, keyArb, (ns, a, b) => {
      const [ka, kb] = [layout.entryKey(ns, { kind: "str", bytes: a.bytes }), layout.entryKey(ns, { kind: "str", bytes: b.bytes })];
      expect(Math.sign(compareBytes(ka, kb))).toBe(Math.sign(compareBytes(a.bytes, b.bytes)));
      const { start, end } = layout.kindRange(ns, "str");
      expect(compareBytes(ka, start) >= 0 && compareBytes(ka, end) < 0).toBe(true);
      const all = layout.entriesRange();
      expect(compareBytes(ka, all.start) >= 0 && compareBytes(ka, all.end) < 0).toBe(true);
      const nodes = layout.nodesRange();
      expect(compareBytes(ka, nodes.start) >= 0 && compareBytes(ka, nodes.end) < 0).toBe(false);
    }), { numRuns: 500 });
  });

  it("prefixEnd is the first key past every extension of a prefix", () => {
    expect(prefixEnd(Buffer.from("a/"))).toEqual(Buffer.from("a0"));
    expect(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
    expect(prefixEnd(Buffer.from([0xff]))).toEqual(Buffer.from([0]));
  });
});
