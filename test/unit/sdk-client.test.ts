import { describe, expect, it, onTestFinished, vi } from "vitest";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import { DatenLordSDK, ErrorCode, type KvCacheClient } from "../../sdk/index.js";
import { fakeBackend, type FakePeer } from "./sdk-fakes.js";
import { expectCode, harness, puts, storedBlocks, text, type Harness } from "./sdk-harness.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";

describe("SDK core: longest prefix", () => {
  it("returns the deepest stored prefix of the query, the query itself included", async () => {
    const { client } = await harness();
    await client.insert("a", "1");
    await client.insert("a/b", "2");
    await client.insert("a/b/c/d", "4");
    const cases: [string, string | null][] = [["a/b/c", "a/b"], ["a/b/c/d", "a/b/c/d"], ["a/b/c/d/e", "a/b/c/d"], ["a", "a"], ["ab", "a"], ["b", null]];
    for (const [query, expected] of cases) {
      const hit = await client.tryLoad(query);
      expect(hit?.matchedPrefix ?? null, query).toBe(expected);
    }
    expect(text((await client.tryLoad("a/b/x"))?.data)).toBe("2");
  });

  it("token keys: number[] queries get number[] prefixes, Uint32Array queries get Uint32Array", async () => {
    const { client } = await harness();
    await client.insert([1, 2, 3], "tok");
    const fromArray = await client.tryLoad([1, 2, 3, 4, 5]);
    expect(fromArray?.matchedPrefix).toEqual([1, 2, 3]);
    expect(Array.isArray(fromArray?.matchedPrefix)).toBe(true);
    const fromTyped = await client.tryLoad(Uint32Array.of(1, 2, 3, 9));
    expect(fromTyped?.matchedPrefix).toBeInstanceOf(Uint32Array);
    expect([...fromTyped!.matchedPrefix]).toEqual([1, 2, 3]);
    expect(await client.tryLoad([1, 2])).toBeNull();
    expect(await client.tryLoad([0xffffffff])).toBeNull();
  });

  it("a query longer than the key limit still finds its stored prefix", async () => {
    const { client } = await harness({ limits: { maxKeyBytes: 16 } });
    await client.insert("p".repeat(16), "long");
    await client.insert([1, 2, 3, 4], "tokens");
    expect((await client.tryLoad("p".repeat(1000)))?.matchedPrefix).toBe("p".repeat(16));
    await client.insert("€€€", "euros");
    // "€" is 3 bytes: the 16-byte cut falls inside the 6th; the lookup backs off to a character boundary.
    expect((await client.tryLoad("€".repeat(100)))?.matchedPrefix).toBe("€€€");
    expect((await client.tryLoad([1, 2, 3, 4, 5, 6, 7]))?.matchedPrefix).toEqual([1, 2, 3, 4]);
    expect((await client.matchPrefix(Uint32Array.from({ length: 100 }, (_, i) => i + 1)))?.size).toBe(6);
    await expectCode(client.insert("p".repeat(17), "x"), ErrorCode.KEY_TOO_LARGE);
  });

  it("string and token keys never match each other", async () => {
    const { client } = await harness();
    // "\0\0\0\x01" encodes to the same bytes as the token key [1].
    await client.insert("\0\0\0\x01", "str");
    expect(await client.tryLoad([1, 2])).toBeNull();
    await client.insert([1], "tok");
    expect(text((await client.tryLoad("\0\0\0\x01\0\0\0\x02"))?.data)).toBe("str");
    expect(text((await client.tryLoad([1, 2]))?.data)).toBe("tok");
  });

  it("matchPrefix answers from metadata only", async () => {
    const { client, peers } = await harness();
    await client.insert("model/x", Buffer.alloc(1234));
    const gets = peers.reduce((n, p) => n + p.calls.get, 0);
    expect(await client.matchPrefix("model/x/y")).toEqual({ matchedPrefix: "model/x", size: 1234 });
    expect(await client.matchPrefix("other")).toBeNull();
    expect(peers.reduce((n, p) => n + p.calls.get, 0)).toBe(gets);
  });

  it("namespaces are separate key spaces", async () => {
    const a = await harness({ namespace: "model-a" });
    await a.client.insert("k", "from a");
    const b = new DatenLordSDK({ env: {}, namespace: "model-b", openBackend: async () => fakeBackend(a.metadata, a.directory) });
    cleanupAfterTest(() => b.close());
    const clientB = await b.connect();
    expect(await clientB.tryLoad("k/more")).toBeNull();
    expect(text((await a.client.tryLoad("k/more"))?.data)).toBe("from a");
  });
});

describe("SDK core: blocks a peer hands over at once (getNow)", () => {
  const sum = (peers: readonly FakePeer[], call: keyof FakePeer["calls"]): number => peers.reduce((n, p) => n + p.calls[call], 0);

  it("a holder that has the block at once serves the load with no request", async () => {
    const { client, peers } = await harness();
    await client.insert("same-host/k", "bytes in a shared file");
    for (const p of peers) p.servesNow = true;
    expect(text((await client.tryLoad("same-host/k/more"))?.data)).toBe("bytes in a shared file");
    expect(sum(peers, "getNow")).toBe(1);
    expect(sum(peers, "get")).toBe(0);
  });

  it("a copy handed over at once is checked like any other: a wrong one is skipped for the next holder's", async () => {
    // Read-ahead off: the counts below are the read's alone (read-ahead has its own tests).
    const { client, peers } = await harness({ sdk: { locationHintBytes: 0 } });
    await client.insert("k", "the right bytes");
    const holders = peers.filter((p) => p.blocks.size === 1);
    expect(holders).toHaveLength(2);
    for (const p of holders) p.servesNow = true;
    // Each holder damaged in turn: one of them is the first asked.
    for (const bad of holders) {
      for (const p of holders) p.mode = p === bad ? "corrupt" : "ok";
      expect(text((await client.tryLoad("k/more"))?.data)).toBe("the right bytes");
    }
    // The damaged copy was handed over once (then the other holder's), the good one twice.
    expect(holders.map((p) => p.calls.getNow).sort()).toEqual([1, 2]);
    expect(sum(peers, "get")).toBe(0);
  });

  it("a holder with nothing to hand over at once is asked with a request, under the deadline", async () => {
    const { client, peers } = await harness();
    await client.insert("remote/k", "over the network");
    expect(text((await client.tryLoad("remote/k"))?.data)).toBe("over the network");
    expect(sum(peers, "getNow")).toBe(1);
    expect(sum(peers, "get")).toBe(1);
  });
});

describe("SDK core: read-ahead from location hints", () => {
  const readAheads = async (h: Harness): Promise<Record<string, number>> =>
    Object.fromEntries((await h.sdk.metrics.readAheads.get()).values.map((v) => [String(v.labels.result), v.value]));
  const sameHost = (h: Harness): void => {
    for (const p of h.peers) p.servesNow = true;
  };

  it("a load of a key loaded before copies its block while metadata answers, by a point read, and uses it when the answer names it", async () => {
    const h = await harness();
    await h.client.insert("k", "the block");
    sameHost(h);
    expect(text((await h.client.tryLoad("k"))?.data)).toBe("the block");
    const get = vi.spyOn(MemoryMetadataStore.prototype, "get");
    const longest = vi.spyOn(MemoryMetadataStore.prototype, "longestPrefix");
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    expect(text((await h.client.tryLoad("k", { into: Buffer.alloc(64) }))?.data)).toBe("the block");
    expect(await readAheads(h)).toEqual({ used: 1 });
    // The query is the remembered key: one point read answers, no range scan.
    expect([get.mock.calls.length, longest.mock.calls.length]).toEqual([1, 0]);
    // A longer query is answered by the range scan, and the copy is still used.
    expect(text((await h.client.tryLoad("k/more"))?.data)).toBe("the block");
    expect([get.mock.calls.length, longest.mock.calls.length]).toEqual([1, 1]);
    expect(await readAheads(h)).toEqual({ used: 2 });
    expect(h.peers.reduce((n, p) => n + p.calls.get, 0)).toBe(0);
  });

  it("a guess the answer overrules is wasted, never returned: a longer key stored since, an overwrite whose old copy is still readable", async () => {
    const h = await harness();
    sameHost(h);
    await h.client.insert("a", "A");
    expect(text((await h.client.tryLoad("a/x"))?.data)).toBe("A");
    await h.client.insert("a/b", "B");
    expect(text((await h.client.tryLoad("a/b/c"))?.data)).toBe("B");
    expect(await readAheads(h)).toEqual({ wasted: 1 });

    for (const p of h.peers) p.delete = async () => undefined; // old copies stay readable
    await h.client.insert("a/b", "B, rewritten", { overwrite: true });
    const into = Buffer.alloc(64);
    expect(text((await h.client.tryLoad("a/b", { into }))?.data)).toBe("B, rewritten");
    expect(await readAheads(h)).toEqual({ wasted: 2 });
  });

  it("a key deleted since is a miss; failing metadata is a degraded miss with a copy made, and nothing is left unhandled", async () => {
    const h = await harness();
    sameHost(h);
    await h.client.insert("gone", "x");
    await h.client.insert("k", "y");
    for (const key of ["gone", "k"]) expect(await h.client.tryLoad(key)).not.toBeNull();
    for (const p of h.peers) p.delete = async () => undefined;
    expect(await h.client.delete("gone")).toBe(true);
    expect(await h.client.tryLoad("gone/more")).toBeNull();
    h.metadataDown = true;
    expect(await h.client.tryLoad("k")).toBeNull();
    expect(h.events.map((e) => e.error.code)).toEqual([ErrorCode.ETCD_UNAVAILABLE]);
    h.metadataDown = false;
    expect(text((await h.client.tryLoad("k"))?.data)).toBe("y");
  });

  it("is skipped for a block larger than `into` (the answer's size decides the error) and off with sdk.locationHintBytes 0", async () => {
    const h = await harness();
    sameHost(h);
    await h.client.insert("big", Buffer.alloc(100));
    await h.client.tryLoad("big");
    await expectCode(h.client.tryLoad("big", { into: Buffer.alloc(10) }), ErrorCode.BUFFER_TOO_SMALL);
    expect(await readAheads(h)).toEqual({});

    const off = await harness({ sdk: { locationHintBytes: 0 } });
    sameHost(off);
    await off.client.insert("k", "v");
    for (let i = 0; i < 3; i++) expect(text((await off.client.tryLoad("k"))?.data)).toBe("v");
    expect(await readAheads(off)).toEqual({});
  });
});

describe("SDK core: insert, overwrite, delete", () => {
  it("places replicas on distinct nodes and names exactly them as holders", async () => {
    const h = await harness();
    await h.client.insert("r", "data");
    const holders = h.peers.filter((p) => p.blocks.size === 1).map((p) => p.nodeId);
    expect(holders).toHaveLength(2);
    const entry = await h.metadata.get("default", { kind: "str", bytes: Buffer.from("r") });
    expect(entry?.descriptor.holders).toEqual(holders.sort());
    expect(entry?.descriptor.size).toBe(4);
  });

  it("inserting an existing key succeeds without sending data", async () => {
    const h = await harness();
    expect(await h.client.insert("k", "first")).toEqual({ inserted: true });
    const sent = puts(h);
    expect(await h.client.insert("k", "second")).toEqual({ inserted: false });
    expect(puts(h)).toBe(sent);
    expect(text((await h.client.tryLoad("k"))?.data)).toBe("first");
  });

  it("overwrite replaces the block and deletes the old copies", async () => {
    const h = await harness();
    await h.client.insert("k", "first");
    expect(await h.client.insert("k", "second", { overwrite: true })).toEqual({ inserted: true });
    expect(text((await h.client.tryLoad("k"))?.data)).toBe("second");
    expect(storedBlocks(h)).toBe(2);
  });

  it("concurrent inserts of one key: one wins, every caller succeeds, the losers' copies are deleted", async () => {
    const h = await harness();
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => h.client.insert("race", `v${i}`)));
    expect(results.filter((r) => r.inserted).length).toBeLessThanOrEqual(1);
    const winner = text((await h.client.tryLoad("race"))?.data);
    expect(winner).toMatch(/^v\d$/);
    expect(storedBlocks(h)).toBe(2);
  });

  it("delete removes the entry and its copies", async () => {
    const h = await harness();
    await h.client.insert("d", "x");
    expect(await h.client.delete("d")).toBe(true);
    expect(await h.client.delete("d")).toBe(false);
    expect(await h.client.tryLoad("d")).toBeNull();
    expect(storedBlocks(h)).toBe(0);
  });

  it("insertMany and tryLoadMany keep input order and bound concurrency", async () => {
    const h = await harness({ sdk: { concurrency: 3 } });
    let inFlight = 0;
    let peak = 0;
    for (const p of h.peers) {
      const original = p.put.bind(p);
      p.put = async (...args) => {
        peak = Math.max(peak, ++inFlight);
        try { return await original(...args); } finally { inFlight--; }
      };
    }
    const items = Array.from({ length: 20 }, (_, i) => ({ key: `batch/${i}`, data: `value ${i}` }));
    const results = await h.client.insertMany(items);
    expect(results.every((r) => r.inserted)).toBe(true);
    expect(peak).toBeLessThanOrEqual(3 * 2);
    const loads = await h.client.tryLoadMany([...items.map((i) => `${i.key}/x`), "nothing"]);
    expect(loads.slice(0, 20).map((l) => text(l?.data))).toEqual(items.map((i) => i.data));
    expect(loads[20]).toBeNull();
  });
});

describe("SDK core: bad input is refused before anything is stored", () => {
  const bad: [string, (c: KvCacheClient) => Promise<unknown>, string][] = [
    ["empty string key", (c) => c.insert("", "x"), ErrorCode.KEY_EMPTY],
    ["empty token key", (c) => c.insert([], "x"), ErrorCode.KEY_EMPTY],
    ["oversized key", (c) => c.insert("k".repeat(65), "x"), ErrorCode.KEY_TOO_LARGE],
    ["key of the wrong type", (c) => c.insert({} as never, "x"), ErrorCode.INVALID_KEY],
    ["negative token", (c) => c.insert([1, -1], "x"), ErrorCode.INVALID_KEY],
    ["fractional token", (c) => c.insert([1.5], "x"), ErrorCode.INVALID_KEY],
    ["lone surrogate", (c) => c.insert("a\ud800", "x"), ErrorCode.INVALID_KEY],
    ["oversized block", (c) => c.insert("k", Buffer.alloc(1025)), ErrorCode.BLOCK_TOO_LARGE],
    ["data of the wrong type", (c) => c.insert("k", 42 as never), ErrorCode.INVALID_DATA],
    ["overwrite not a boolean", (c) => c.insert("k", "x", { overwrite: "yes" as never }), ErrorCode.INVALID_ARGUMENT],
    ["insertMany not an array", (c) => c.insertMany("x" as never), ErrorCode.INVALID_ARGUMENT],
    ["insertMany with one bad item", (c) => c.insertMany([{ key: "ok", data: "x" }, { key: "", data: "x" }]), ErrorCode.KEY_EMPTY],
    ["tryLoad of an empty key", (c) => c.tryLoad(""), ErrorCode.KEY_EMPTY],
    ["tryLoadMany with one bad query", (c) => c.tryLoadMany(["ok", null as never]), ErrorCode.INVALID_KEY],
  ];
  for (const [name, op, code] of bad) {
    it(`${name} → ${code}`, async () => {
      const h = await harness({ limits: { maxKeyBytes: 64, maxBlockBytes: 1024 } });
      await expectCode(op(h.client), code);
      expect(puts(h)).toBe(0);
      expect(await h.client.tryLoad("ok")).toBeNull();
    });
  }

  it("a batch error names the item", async () => {
    const h = await harness();
    await expect(h.client.insertMany([{ key: "a", data: "x" }, { key: "b", data: 1 as never }])).rejects.toMatchObject({
      code: ErrorCode.INVALID_DATA, details: { index: 1 },
    });
  });

  it("configuration errors are typed and name the key", () => {
    expect(() => new DatenLordSDK({ env: {}, options: { nosuch: 1 } as never })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
    expect(() => new DatenLordSDK({ env: {}, cluster: { replicas: 0 } })).toThrow(/cluster\.replicas/);
    expect(() => new DatenLordSDK({ env: {}, configPath: "/nonexistent/config.json" })).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });
});

