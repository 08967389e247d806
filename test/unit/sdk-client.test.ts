import { afterEach, describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import type { MetadataStore } from "../../metadata/metadata-store.js";
import { DatenLordSDK, ErrorCode, KvCacheError, type DatenLordSDKOptions, type DegradedEvent, type KvCacheClient } from "../../sdk/index.js";
import type { ConfigOverrides } from "../../src/config.js";
import { FakeDirectory, FakePeer, fakeBackend, failingMetadata } from "./sdk-fakes.js";

/** An SDK over in-memory metadata and three fake nodes (the cluster code path without a network). */
interface Harness {
  readonly sdk: DatenLordSDK;
  readonly client: KvCacheClient;
  readonly metadata: MetadataStore;
  readonly peers: FakePeer[];
  readonly directory: FakeDirectory;
  readonly events: DegradedEvent[];
  metadataDown: boolean;
}

const open: DatenLordSDK[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function harness(config: ConfigOverrides = {}, extra: Partial<DatenLordSDKOptions> = {}): Promise<Harness> {
  const memory = new MemoryMetadataStore();
  const h = { metadataDown: false } as Harness;
  const metadata = failingMetadata(memory, () => h.metadataDown);
  const peers = ["n1", "n2", "n3"].map((id) => new FakePeer(id));
  const directory = new FakeDirectory(peers);
  const sdk = new DatenLordSDK({
    env: {}, options: { cluster: { replicas: 2, requestTimeoutMs: 200 }, ...config },
    openBackend: async () => fakeBackend(metadata, directory), ...extra,
  });
  open.push(sdk);
  const client = await sdk.connect();
  const events: DegradedEvent[] = [];
  client.on("degraded", (e) => events.push(e));
  return Object.assign(h, { sdk, client, metadata, peers, directory, events });
}

const text = (b: Buffer | undefined): string | undefined => b?.toString("utf8");
const storedBlocks = (h: Harness): number => h.peers.reduce((n, p) => n + p.blocks.size, 0);
const puts = (h: Harness): number => h.peers.reduce((n, p) => n + p.calls.put, 0);

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await expect(promise).rejects.toSatisfy((e: unknown) => e instanceof KvCacheError && e.code === code);
}

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
    open.push(b);
    const clientB = await b.connect();
    expect(await clientB.tryLoad("k/more")).toBeNull();
    expect(text((await a.client.tryLoad("k/more"))?.data)).toBe("from a");
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

describe("SDK core: lifecycle", () => {
  it("every operation after close throws ERR_CLOSED; close is idempotent", async () => {
    const h = await harness();
    await h.client.close();
    await h.client.close();
    await expectCode(h.client.insert("k", "x"), ErrorCode.CLOSED);
    await expectCode(h.client.tryLoad("k"), ErrorCode.CLOSED);
    await expectCode(h.client.tryLoad(""), ErrorCode.CLOSED);
    await expectCode(h.client.stats(), ErrorCode.CLOSED);
    await h.sdk.close();
    await h.sdk.close();
    await expectCode(h.sdk.connect(), ErrorCode.CLOSED);
    expect(h.peers.every((p) => p.closed)).toBe(true);
  });

  it("await using closes the client; sdk.close() closes every client", async () => {
    const h = await harness();
    let escaped: KvCacheClient;
    {
      await using client = await h.sdk.connect();
      escaped = client;
      await client.insert("u", "x");
    }
    expect(escaped.closed).toBe(true);
    const other = await h.sdk.connect();
    await h.sdk.close();
    expect(other.closed).toBe(true);
    expect(h.client.closed).toBe(true);
  });

  it("close waits for operations in flight", async () => {
    const h = await harness();
    const pending = h.client.insert("slow", Buffer.alloc(100));
    await h.client.close();
    await expect(pending).resolves.toEqual({ inserted: true });
  });
});

describe("SDK core: failures", () => {
  it("a failing holder is skipped; the block loads from the other replica", async () => {
    const h = await harness();
    await h.client.insert("f", "data");
    for (const p of h.peers) if (p.blocks.size > 0) { p.mode = "hang"; break; }
    expect(text((await h.client.tryLoad("f"))?.data)).toBe("data");
    expect(h.events).toEqual([]);
  });

  it("a copy with the wrong checksum is never returned", async () => {
    const h = await harness();
    await h.client.insert("c", "data");
    for (const p of h.peers) p.mode = "corrupt";
    expect(await h.client.tryLoad("c")).toBeNull();
    expect(h.events.map((e) => e.error.code)).toEqual([ErrorCode.NO_NODES]);
  });

  it("a block no node can produce is a degraded miss, counted and emitted", async () => {
    const h = await harness({}, { registry: new Registry() });
    await h.client.insert("gone", "data");
    for (const p of h.peers) p.blocks.clear();
    expect(await h.client.tryLoad("gone/x")).toBeNull();
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ op: "tryLoad", error: { code: ErrorCode.NO_NODES } });
    const metrics = await h.sdk.registry.metrics();
    expect(metrics).toMatch(/kvcache_sdk_degraded_total\{op="tryLoad",code="ERR_NO_NODES"\} 1/);
    expect(metrics).toMatch(/kvcache_requests_total\{op="tryLoad",result="degraded"\} 1/);
  });

  it("metadata down: tryLoad degrades to a miss, insert throws", async () => {
    const h = await harness();
    h.metadataDown = true;
    expect(await h.client.tryLoad("x")).toBeNull();
    expect(await h.client.matchPrefix("x")).toBeNull();
    expect(h.events.map((e) => e.op)).toEqual(["tryLoad", "matchPrefix"]);
    await expectCode(h.client.insert("x", "y"), ErrorCode.ETCD_UNAVAILABLE);
  });

  it("strict mode throws the typed error instead", async () => {
    const h = await harness({ sdk: { strict: true } });
    await h.client.insert("gone", "data");
    for (const p of h.peers) p.blocks.clear();
    await expectCode(h.client.tryLoad("gone"), ErrorCode.NO_NODES);
    h.metadataDown = true;
    await expectCode(h.client.tryLoad("x"), ErrorCode.ETCD_UNAVAILABLE);
    expect(h.events).toEqual([]);
  });

  it("a hung node costs at most the request deadline", async () => {
    const h = await harness({ cluster: { replicas: 3, requestTimeoutMs: 100 } });
    await h.client.insert("h", "data");
    for (const p of h.peers) p.mode = "hang";
    const started = Date.now();
    expect(await h.client.tryLoad("h")).toBeNull();
    expect(Date.now() - started).toBeLessThan(3 * 100 + 500);
    expect(h.events[0]?.error.code).toBe(ErrorCode.NO_NODES);
  });

  it("insert: placed nodes failing → the next ranked node takes the block; none → typed error, nothing published", async () => {
    const h = await harness({ cluster: { replicas: 1, requestTimeoutMs: 200 } });
    h.peers[0]!.mode = "fail";
    h.peers[1]!.mode = "fail";
    for (let i = 0; i < 10; i++) await h.client.insert(`p${i}`, "x");
    expect(h.peers[2]!.blocks.size).toBe(10);
    h.peers[2]!.mode = "fail";
    await expectCode(h.client.insert("none", "x"), ErrorCode.NODE);
    expect(await h.client.matchPrefix("none")).toBeNull();
    h.directory.members.clear();
    await expectCode(h.client.insert("none", "x"), ErrorCode.NO_NODES);
  });

  it("metadata failing after the put: the copies are deleted and the error thrown", async () => {
    const h = await harness();
    const original = h.metadata.insertIfAbsent.bind(h.metadata);
    h.metadata.insertIfAbsent = () => Promise.reject(new KvCacheError(ErrorCode.ETCD, "write failed"));
    await expectCode(h.client.insert("k", "x"), ErrorCode.ETCD);
    expect(storedBlocks(h)).toBe(0);
    h.metadata.insertIfAbsent = original;
  });
});

describe("SDK stats and metrics", () => {
  it("stats lists every live node, with the error of one that fails", async () => {
    const h = await harness();
    await h.client.insert("s", "abc");
    h.peers[2]!.mode = "fail";
    const stats = await h.client.stats();
    expect(stats.mode).toBe("cluster");
    expect(stats.nodes.map((n) => n.nodeId)).toEqual(["n1", "n2", "n3"]);
    expect(stats.nodes[2]).toMatchObject({ error: { code: ErrorCode.NODE } });
    expect((await h.client.nodes()).map((n) => n.nodeId)).toEqual(["n1", "n2", "n3"]);
  });

  it("reports requests, hit ratio and matched prefix length on the injected registry", async () => {
    const registry = new Registry();
    const h = await harness({}, { registry });
    await h.client.insert([1, 2, 3], "t");
    await h.client.tryLoad([1, 2, 3, 4]);
    await h.client.tryLoad([9]);
    const text = await registry.metrics();
    expect(text).toMatch(/kvcache_requests_total\{op="tryLoad",result="hit"\} 1/);
    expect(text).toMatch(/kvcache_requests_total\{op="tryLoad",result="miss"\} 1/);
    expect(text).toMatch(/kvcache_requests_total\{op="insert",result="ok"\} 1/);
    expect(text).toMatch(/kvcache_sdk_hit_ratio 0\.5/);
    expect(text).toMatch(/kvcache_sdk_matched_prefix_length_sum\{kind="tok"\} 3/);
    expect(text).toMatch(/kvcache_op_duration_seconds_count\{op="tryLoad"\} 2/);
  });
});
