/**
 * The one compliance suite every {@link MetadataStore} runs (MemoryMetadataStore,
 * EtcdMetadataStore), so the embedded and the cluster store keep identical semantics.
 *
 * ```ts
 * describeMetadataContract("MemoryMetadataStore", async () => {
 *   const store = new MemoryMetadataStore();
 *   return { store, cleanup: () => store.close() };
 * });
 * ```
 *
 * - The factory runs before every test and must return an EMPTY store; `cleanup`
 *   runs after every test and must work whether or not the store is closed.
 * - `propertyRuns` sets the fast-check runs of the property test (keep it modest
 *   for a networked store).
 * Each implementation's own test file adds only what is specific to it.
 */
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newBlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";
import { encodeKey, type EncodedKey } from "../../src/keys.js";
import { MAX_METADATA_KEY_BYTES } from "../../metadata/arguments.js";
import { bruteForceLongestPrefix } from "../../metadata/longest-prefix.js";
import type { BlockDescriptor, MetadataStore, NodeEvent, NodeInfo } from "../../metadata/metadata-store.js";
import { waitFor } from "../helpers/wait-for.js";

export interface MetadataHarness {
  readonly store: MetadataStore;
  readonly cleanup: () => Promise<void>;
}

export interface MetadataContractOptions {
  readonly propertyRuns?: number;
}

export const str = (s: string): EncodedKey => encodeKey(s, 1 << 20);
export const tok = (tokens: readonly number[]): EncodedKey => encodeKey(tokens, 1 << 20);

/** A valid descriptor; `seed` varies the size so two descriptors are told apart. */
export function descriptor(seed = 0, holders: string[] = []): BlockDescriptor {
  return { blockId: newBlockId(), size: 100 + seed, checksum: seed >>> 0, holders, s3: false, createdAt: 1_700_000_000_000 + seed };
}

/** A fresh namespace: tests never see each other's entries. */
export function freshNamespace(tag = "ns"): string {
  return `${tag}-${randomBytes(5).toString("hex")}`;
}

const hex = (key: EncodedKey | undefined): string | undefined => (key === undefined ? undefined : `${key.kind}:${Buffer.from(key.bytes).toString("hex")}`);

export function describeMetadataContract(name: string, factory: () => Promise<MetadataHarness>, options: MetadataContractOptions = {}): void {
  describe(`MetadataStore contract: ${name}`, () => {
    let harness: MetadataHarness;
    let store: MetadataStore;
    let ns: string;
    beforeEach(async () => {
      harness = await factory();
      store = harness.store;
      ns = freshNamespace();
    });
    afterEach(async () => harness.cleanup());

    const match = async (query: EncodedKey, namespace = ns): Promise<string | undefined> => hex((await store.longestPrefix(namespace, query))?.key);

    describe("longestPrefix", () => {
      it("finds an exact key, the deepest prefix of a longer query, and nothing below the shortest key", async () => {
        for (const k of ["a", "ab", "abc", "abd", "b"]) await store.insertIfAbsent(ns, str(k), descriptor());
        expect(await match(str("abc"))).toBe(hex(str("abc")));
        expect(await match(str("abcdef"))).toBe(hex(str("abc")));
        expect(await match(str("abx"))).toBe(hex(str("ab")));
        expect(await match(str("azzzz"))).toBe(hex(str("a")));
        expect(await match(str("c"))).toBeUndefined();
        expect(await match(str("A"))).toBeUndefined();
      });

      it("returns the stored descriptor and revision with the match", async () => {
        const d = descriptor(7, ["node-b", "node-a"]);
        const { entry } = await store.insertIfAbsent(ns, str("prompt"), d);
        const hit = await store.longestPrefix(ns, str("prompt and more"));
        expect(hit?.descriptor).toEqual({ ...d, holders: ["node-a", "node-b"] });
        expect(hit?.revision).toBe(entry.revision);
      });

      it("never matches string keys with token keys of the same bytes", async () => {
        await store.insertIfAbsent(ns, tok([0x61626364]), descriptor());
        expect(await match(str("abcd"))).toBeUndefined();
        expect(await match(str("abcdef"))).toBeUndefined();
        await store.insertIfAbsent(ns, str("abcd"), descriptor());
        expect(await match(tok([0x61626364, 7]))).toBe(hex(tok([0x61626364])));
        expect(await match(str("abcdef"))).toBe(hex(str("abcd")));
      });

      it("keeps namespaces apart, even names that would collide unescaped", async () => {
        const base = freshNamespace();
        await store.insertIfAbsent(base, str("s/abc"), descriptor());
        await store.insertIfAbsent(`${base}-x`, str("k"), descriptor());
        expect(await match(str("abc"), `${base}/s`)).toBeUndefined();
        expect(await match(str("s/abcd"), `${base}%2Fs`)).toBeUndefined();
        expect(await match(str("k"), base)).toBeUndefined();
        expect(await match(str("s/abcd"), `${base}-x`)).toBeUndefined();
        expect(await match(str("s/abcd"), base)).toBe(hex(str("s/abc")));
      });

      it("handles keys holding 0x00 and 0xFF bytes", async () => {
        const keys = [tok([0]), tok([0, 0]), tok([0xffffffff]), tok([0xffffffff, 0]), tok([0xffffffff, 0xffffffff, 1]), str("\u0000"), str("a\u0000b")];
        await store.putMany(ns, keys.map((key) => ({ key, descriptor: descriptor(), ifAbsent: true })));
        expect(await match(tok([0, 0, 5]))).toBe(hex(tok([0, 0])));
        expect(await match(tok([0, 1]))).toBe(hex(tok([0])));
        expect(await match(tok([0xffffffff, 0xffffffff]))).toBe(hex(tok([0xffffffff])));
        expect(await match(tok([0xffffffff, 0, 0xffffffff]))).toBe(hex(tok([0xffffffff, 0])));
        expect(await match(tok([0xfffffffe]))).toBeUndefined();
        expect(await match(str("\u0000\u0000"))).toBe(hex(str("\u0000")));
        expect(await match(str("a\u0000bc"))).toBe(hex(str("a\u0000b")));
        expect(await match(str("a\u0000"))).toBeUndefined();
      });

      it("matches unicode keys on code point boundaries of their UTF-8", async () => {
        for (const k of ["日本", "日本語", "👍🏽", "é"]) await store.insertIfAbsent(ns, str(k), descriptor());
        expect(await match(str("日本語のテキスト"))).toBe(hex(str("日本語")));
        expect(await match(str("日本人"))).toBe(hex(str("日本")));
        expect(await match(str("👍🏽 yes"))).toBe(hex(str("👍🏽")));
        expect(await match(str("👍 no"))).toBeUndefined();
        expect(await match(str("e\u0301"))).toBeUndefined();
      });

      it("searches only the stored-key cap of an over-long query", async () => {
        await store.insertIfAbsent(ns, str("long"), descriptor());
        expect(await match(str(`long${"x".repeat(MAX_METADATA_KEY_BYTES + 10)}`))).toBe(hex(str("long")));
      });

      it("stores, finds, updates and deletes a key at the size cap", async () => {
        const big = { kind: "str" as const, bytes: Buffer.alloc(MAX_METADATA_KEY_BYTES, 0x62) };
        expect((await store.insertIfAbsent(ns, big, descriptor())).inserted).toBe(true);
        expect((await store.insertIfAbsent(ns, big, descriptor())).inserted).toBe(false);
        expect((await store.longestPrefix(ns, { kind: "str", bytes: Buffer.concat([big.bytes, Buffer.from("more")]) }))?.key.bytes.length).toBe(MAX_METADATA_KEY_BYTES);
        expect((await store.update(ns, big, (cur) => cur && { ...cur, s3: true }))?.descriptor.s3).toBe(true);
        expect(await store.delete(ns, big)).toBe(true);
      });

      it("equals a brute-force search over random key sets", async () => {
        await fc.assert(fc.asyncProperty(keySetArbitrary(), async ({ keys, queries }) => {
          const space = freshNamespace("prop");
          await store.putMany(space, keys.map((key) => ({ key, descriptor: descriptor(), ifAbsent: true })));
          const stored = keys.map((key) => ({ key: key.bytes, value: key }));
          for (const query of queries) {
            const expected = bruteForceLongestPrefix(query.bytes, stored.filter((e) => e.value.kind === query.kind))?.value;
            expect(await match(query, space), `query ${hex(query)}`).toBe(hex(expected));
          }
        }), { numRuns: options.propertyRuns ?? 200 });
      });
    });

    describe("writes", () => {
      it("get returns only exact keys", async () => {
        await store.insertIfAbsent(ns, str("ab"), descriptor());
        expect(hex((await store.get(ns, str("ab")))?.key)).toBe(hex(str("ab")));
        expect(await store.get(ns, str("abc"))).toBeUndefined();
        expect(await store.get(ns, str("a"))).toBeUndefined();
      });

      it("insertIfAbsent: the first writer wins and later ones get the winner", async () => {
        const first = await store.insertIfAbsent(ns, str("k"), descriptor(1));
        const second = await store.insertIfAbsent(ns, str("k"), descriptor(2));
        expect(first.inserted).toBe(true);
        expect(second.inserted).toBe(false);
        expect(second.entry.descriptor.blockId).toBe(first.entry.descriptor.blockId);
        expect(second.entry.revision).toBe(first.entry.revision);
      });

      it("insertIfAbsent: concurrent callers agree on exactly one winner", async () => {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.insertIfAbsent(ns, str("race"), descriptor(i))));
        expect(results.filter((r) => r.inserted)).toHaveLength(1);
        expect(new Set(results.map((r) => r.entry.descriptor.blockId)).size).toBe(1);
      });

      it("put overwrites and returns the previous entry", async () => {
        const a = await store.put(ns, str("k"), descriptor(1));
        expect(a.previous).toBeUndefined();
        const b = await store.put(ns, str("k"), descriptor(2));
        expect(b.previous?.descriptor.blockId).toBe(a.entry.descriptor.blockId);
        expect(b.entry.revision).not.toBe(a.entry.revision);
        expect((await store.get(ns, str("k")))?.descriptor.blockId).toBe(b.entry.descriptor.blockId);
      });

      it("putMany writes more than one transaction's worth, in input order, if-absent items keeping existing entries", async () => {
        const existing = await store.insertIfAbsent(ns, str("k0005"), descriptor());
        const items = Array.from({ length: 300 }, (_, i) => ({ key: str(`k${String(i).padStart(4, "0")}`), descriptor: descriptor(i), ifAbsent: i % 2 === 1 }));
        const results = await store.putMany(ns, items);
        expect(results.map((r) => hex(r.entry.key))).toEqual(items.map((i) => hex(i.key)));
        expect(results[5]).toMatchObject({ inserted: false, entry: { descriptor: existing.entry.descriptor } });
        expect(results.filter((r) => !r.inserted)).toHaveLength(1);
        expect((await store.get(ns, str("k0299")))?.descriptor.blockId).toBe(items[299]!.descriptor.blockId);
      });

      it("putMany applies repeated keys in input order", async () => {
        const [a, b, c] = [descriptor(1), descriptor(2), descriptor(3)];
        const results = await store.putMany(ns, [
          { key: str("x"), descriptor: a, ifAbsent: true },
          { key: str("x"), descriptor: b, ifAbsent: true },
          { key: str("y"), descriptor: a, ifAbsent: false },
          { key: str("y"), descriptor: c, ifAbsent: false },
        ]);
        expect(results.map((r) => [r.inserted, r.entry.descriptor.blockId])).toEqual([[true, a.blockId], [false, a.blockId], [true, a.blockId], [true, c.blockId]]);
        expect((await store.get(ns, str("y")))?.descriptor.blockId).toBe(c.blockId);
      });

      it("update applies a function by compare-and-set: create, modify, keep, delete", async () => {
        const d = descriptor(1, ["n1"]);
        const created = await store.update(ns, str("u"), (current) => (current === undefined ? d : undefined));
        expect(created?.descriptor.blockId).toBe(d.blockId);
        const modified = await store.update(ns, str("u"), (current) => current && { ...current, holders: [...current.holders, "n2"] });
        expect(modified?.descriptor.holders).toEqual(["n1", "n2"]);
        expect(modified?.revision).not.toBe(created?.revision);
        const kept = await store.update(ns, str("u"), () => undefined);
        expect(kept?.revision).toBe(modified?.revision);
        expect(await store.update(ns, str("u"), () => null)).toBeUndefined();
        expect(await store.get(ns, str("u"))).toBeUndefined();
        expect(await store.update(ns, str("absent"), () => null)).toBeUndefined();
      });

      it("update never loses a concurrent update", async () => {
        await store.insertIfAbsent(ns, str("hot"), descriptor());
        const holders = Array.from({ length: 20 }, (_, i) => `node-${String(i).padStart(2, "0")}`);
        await Promise.all(holders.map((h) => store.update(ns, str("hot"), (cur) => cur && { ...cur, holders: [...cur.holders, h] })));
        expect((await store.get(ns, str("hot")))?.descriptor.holders).toEqual(holders);
      });

      it("compareAndDelete deletes only at the expected revision", async () => {
        const first = await store.put(ns, str("c"), descriptor(1));
        const second = await store.put(ns, str("c"), descriptor(2));
        expect(await store.compareAndDelete(ns, str("c"), first.entry.revision)).toBe(false);
        expect(await store.get(ns, str("c"))).toBeDefined();
        expect(await store.compareAndDelete(ns, str("c"), second.entry.revision)).toBe(true);
        expect(await store.get(ns, str("c"))).toBeUndefined();
        expect(await store.compareAndDelete(ns, str("c"), second.entry.revision)).toBe(false);
      });

      it("delete reports whether something was deleted", async () => {
        await store.insertIfAbsent(ns, str("d"), descriptor());
        expect(await store.delete(ns, str("d"))).toBe(true);
        expect(await store.delete(ns, str("d"))).toBe(false);
        expect(await store.longestPrefix(ns, str("dd"))).toBeUndefined();
      });

      it("entries pages over every namespace and kind", async () => {
        const other = freshNamespace();
        const want = [[ns, str("a")], [ns, str("b")], [ns, tok([1, 2])], [other, str("a")], [other, tok([0xffffffff])]] as const;
        for (const [space, key] of want) await store.insertIfAbsent(space, key, descriptor());
        const seen: string[] = [];
        for await (const { namespace, entry } of store.entries({ pageSize: 2 })) {
          if (namespace === ns || namespace === other) seen.push(`${namespace} ${hex(entry.key)}`);
        }
        expect(seen.sort()).toEqual(want.map(([space, key]) => `${space} ${hex(key)}`).sort());
      });
    });

    describe("input checks", () => {
      it("rejects empty keys, over-limit keys, bad namespaces, bad descriptors, bad revisions, storing nothing", async () => {
        await expect(store.insertIfAbsent(ns, { kind: "str", bytes: new Uint8Array(0) }, descriptor())).rejects.toMatchObject({ code: ErrorCode.KEY_EMPTY });
        await expect(store.put(ns, { kind: "str", bytes: new Uint8Array(MAX_METADATA_KEY_BYTES + 1) }, descriptor())).rejects.toMatchObject({ code: ErrorCode.KEY_TOO_LARGE });
        await expect(store.get("", str("a"))).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        await expect(store.get("n".repeat(257), str("a"))).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        await expect(store.put(ns, str("a"), { ...descriptor(), blockId: "nope" })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        await expect(store.compareAndDelete(ns, str("a"), "abc")).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        const bad = [{ key: str("ok"), descriptor: descriptor(), ifAbsent: true }, { key: str("bad"), descriptor: { ...descriptor(), size: -1 }, ifAbsent: true }];
        await expect(store.putMany(ns, bad)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        expect(await store.get(ns, str("ok"))).toBeUndefined();
      });
    });

    describe("membership", () => {
      const node = (nodeId: string): NodeInfo => ({ nodeId, address: "127.0.0.1:7001", adminAddress: "", startedAt: 1 });

      it("registerNode → liveNodes and a join; close → gone and a leave", async () => {
        const events: NodeEvent[] = [];
        const watch = await store.watchNodes((e) => events.push(e));
        const id = freshNamespace("node/ü");
        const registration = await store.registerNode(node(id), 5);
        expect((await store.liveNodes()).map((n) => n.nodeId)).toContain(id);
        await waitFor(() => events.some((e) => e.type === "join" && e.nodeId === id && e.node?.address === "127.0.0.1:7001"), { what: "join event", timeoutMs: 5000 });
        await registration.close();
        await registration.close();
        expect((await store.liveNodes()).map((n) => n.nodeId)).not.toContain(id);
        await waitFor(() => events.some((e) => e.type === "leave" && e.nodeId === id), { what: "leave event", timeoutMs: 5000 });
        await watch.close();
      });

      it("rejects a bad node id or TTL", async () => {
        await expect(store.registerNode(node(""), 5)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
        await expect(store.registerNode(node("n"), 0)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
      });
    });

    describe("close", () => {
      it("is idempotent and makes every call reject with ERR_CLOSED", async () => {
        await store.close();
        await store.close();
        const closed = { code: ErrorCode.CLOSED };
        await expect(store.longestPrefix(ns, str("a"))).rejects.toMatchObject(closed);
        await expect(store.get(ns, str("a"))).rejects.toMatchObject(closed);
        await expect(store.insertIfAbsent(ns, str("a"), descriptor())).rejects.toMatchObject(closed);
        await expect(store.put(ns, str("a"), descriptor())).rejects.toMatchObject(closed);
        await expect(store.putMany(ns, [])).rejects.toMatchObject(closed);
        await expect(store.update(ns, str("a"), () => undefined)).rejects.toMatchObject(closed);
        await expect(store.delete(ns, str("a"))).rejects.toMatchObject(closed);
        await expect(store.entries()[Symbol.asyncIterator]().next()).rejects.toMatchObject(closed);
        await expect(store.registerNode({ nodeId: "n", address: "a:1", adminAddress: "", startedAt: 1 }, 5)).rejects.toMatchObject(closed);
        await expect(store.liveNodes()).rejects.toMatchObject(closed);
        await expect(store.watchNodes(() => undefined)).rejects.toMatchObject(closed);
      });
    });
  });
}

/**
 * Random stored keys and queries: strings over a small alphabet (shared
 * prefixes, NUL, multi-byte characters), token arrays over values that include
 * 0x00000000 and 0xFFFFFFFF, and queries that extend stored keys, plus
 * adversarial keys that sort between a query's answer and the query.
 */
export function keySetArbitrary(): fc.Arbitrary<{ keys: EncodedKey[]; queries: EncodedKey[] }> {
  const text = fc.string({ unit: fc.constantFrom("a", "b", "\u0000", "é", "日", "👍", "\u{10FFFF}"), minLength: 1, maxLength: 6 }).map(str);
  const tokens = fc.array(fc.constantFrom(0, 1, 0x61, 0xff, 0x100, 0xfffffffe, 0xffffffff), { minLength: 1, maxLength: 5 }).map(tok);
  const key = fc.oneof(text, tokens);
  return fc.record({ stored: fc.uniqueArray(key, { maxLength: 25, selector: hex }), extra: fc.array(key, { maxLength: 6 }), tail: fc.array(key, { maxLength: 4 }) })
    .map(({ stored, extra, tail }) => {
      const adversarial = stored.slice(0, 3).flatMap((k) => betweenKeys(k));
      const keys = uniqueKeys([...stored, ...adversarial]);
      const extended = keys.slice(0, 4).flatMap((k) => tail.filter((t) => t.kind === k.kind).map((t) => join(k, t)));
      return { keys, queries: [...keys.slice(0, 3), ...extra, ...extended] };
    });
}

/** Keys that extend `key` with a small byte, so they sort after `key` but below longer queries that extend it with larger bytes. */
function betweenKeys(key: EncodedKey): EncodedKey[] {
  const filler = key.kind === "tok" ? [tok([0]), tok([1, 0xffffffff]), tok([0x61])] : [str("\u0000"), str("a"), str("a\u0000b")];
  return filler.map((f) => join(key, f));
}

function join(a: EncodedKey, b: EncodedKey): EncodedKey {
  return { kind: a.kind, bytes: Buffer.concat([a.bytes, b.bytes]) };
}

function uniqueKeys(keys: EncodedKey[]): EncodedKey[] {
  const seen = new Map(keys.map((k) => [hex(k), k]));
  return [...seen.values()];
}
