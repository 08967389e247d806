import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { DatenLordSDK, ErrorCode, KvCacheError, type KvCacheClient } from "../../sdk/index.js";
import type { ConfigOverrides, EtcdConfig } from "../../src/config.js";
import type { CacheKey } from "../../src/keys.js";
import { testConfigOverrides } from "../helpers/env.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait-for.js";
import { blockBytes, expectedPrefix, keyId, prng, scrapeGauge, startNodes, type ModelEntry } from "./cluster-fixtures.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const SEED = Number(process.env["CLUSTER_TEST_SEED"] ?? 20240611);

/** A cluster of node processes on one config, plus SDKs connected to it; everything stopped in afterAll. */
function clusterFixture(nodeCount: number, extra: ConfigOverrides) {
  const state = { config: {} as ConfigOverrides, nodes: [] as NodeProcess[], sdks: [] as DatenLordSDK[], events: [] as string[] };
  beforeAll(async () => {
    // Generous request deadlines: CI machines are small and busy. A killed node still fails fast (connection refused / reset).
    state.config = testConfigOverrides({
      ...extra, etcd: { leaseTtlSeconds: 5, ...extra.etcd }, cluster: { requestTimeoutMs: 10_000, ...extra.cluster },
    });
    state.nodes = await startNodes(nodeCount, state.config);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(state.sdks.map((s) => s.close()));
    await Promise.all(state.nodes.map((n) => n.stop()));
  }, 60_000);
  const connect = async (options: ConfigOverrides = {}): Promise<KvCacheClient> => {
    const sdk = new DatenLordSDK({ env: {}, options: { ...state.config, ...options } });
    state.sdks.push(sdk);
    const client = await sdk.connect();
    // Degraded lookups are kept to explain a failed assertion.
    client.on("degraded", (e) => state.events.push(`${e.op}: ${e.error.code} ${e.error.message}`));
    await waitFor(async () => (await client.nodes()).length === nodeCount, { what: `${nodeCount} live nodes`, timeoutMs: 30_000 })
      .catch(async (err: unknown) => {
        throw new Error(`${(err as Error).message}\n${await crashReport(state.nodes)}`, { cause: err });
      });
    return client;
  };
  return { state, connect };
}

/** Polls metadata from `since` until no descriptor names `nodeId`; resolves with the milliseconds that took. */
async function timeUntilUnnamed(config: EtcdConfig, nodeId: string, since: number): Promise<number> {
  const metadata = await EtcdMetadataStore.connect({ config });
  try {
    await waitFor(async () => {
      for await (const { entry } of metadata.entries()) if (entry.descriptor.holders.includes(nodeId)) return false;
      return true;
    }, { what: `no descriptor naming dead node ${nodeId}`, timeoutMs: 120_000, intervalMs: 250 });
    return Date.now() - since;
  } finally {
    await metadata.close();
  }
}

/** Which node processes have exited, with their last output (to explain a missing node). */
async function crashReport(nodes: readonly NodeProcess[]): Promise<string> {
  const lines = await Promise.all(nodes.map(async (n) => {
    const exit = await Promise.race([n.waitExit(), Promise.resolve(undefined)]);
    return exit === undefined ? `${n.nodeId}: running` : `${n.nodeId}: exited ${JSON.stringify(exit)}\n${n.outputTail()}`;
  }));
  return lines.join("\n");
}

/** Keys with many shared prefixes: string paths over a tiny alphabet, token runs over a few ids. */
function randomKey(next: () => number): CacheKey {
  const depth = 1 + Math.floor(next() * 6);
  if (next() < 0.5) return Array.from({ length: depth }, () => ["a", "b", "ç", "d/"][Math.floor(next() * 4)]).join("");
  const tokens = Array.from({ length: depth }, () => [1, 2, 3, 70_000, 0xffffffff][Math.floor(next() * 5)]!);
  return next() < 0.5 ? tokens : Uint32Array.from(tokens);
}

function extend(key: CacheKey, next: () => number): CacheKey {
  const more = randomKey(next);
  if (typeof key === "string") return typeof more === "string" ? key + more : `${key}x`;
  const tail = typeof more === "string" ? [9] : Array.from(more);
  return key instanceof Uint32Array ? Uint32Array.from([...key, ...tail]) : [...key, ...tail];
}

function truncate(key: CacheKey, next: () => number): CacheKey {
  if (typeof key === "string") return key.slice(0, Math.max(1, Math.floor(next() * key.length)));
  return key.slice(0, Math.max(1, Math.floor(next() * key.length)));
}

/** `count` distinct keys with sizes of 1 KiB – 32 KiB, and `big` of them 4 MiB. */
function makeEntries(count: number, big: number, seed: number): ModelEntry[] {
  const next = prng(seed);
  const byId = new Map<string, ModelEntry>();
  for (let i = 0; byId.size < count; i++) {
    const key = randomKey(next);
    if (byId.has(keyId(key))) continue;
    const size = byId.size < big ? 4 * MiB : KiB + Math.floor(next() * 31 * KiB);
    byId.set(keyId(key), { key, seed: seed * 1_000_003 + i, size });
  }
  return [...byId.values()];
}

async function expectLoads(client: KvCacheClient, entries: readonly ModelEntry[], events: readonly string[] = []): Promise<void> {
  const hits = await client.tryLoadMany(entries.map((e) => e.key));
  hits.forEach((hit, i) => {
    const e = entries[i]!;
    expect(hit, `no block for ${keyId(e.key)}; degraded: ${events.slice(-3).join(" | ")}`).not.toBeNull();
    expect(keyId(hit!.matchedPrefix)).toBe(keyId(e.key));
    expect(hit!.data.equals(blockBytes(e.seed, e.size)), `data of ${keyId(e.key)}`).toBe(true);
  });
}

/** Lease TTL and sweep settings of the node-failure test (fast, so cleanup is observable). */
const FAILURE = { leaseTtlSeconds: 5, sweepIntervalMs: 2_000, sweepGraceMs: 1_000 } as const;

describe("cluster: 3 node processes, replicas 2", () => {
  const cluster = clusterFixture(3, {
    etcd: { leaseTtlSeconds: FAILURE.leaseTtlSeconds },
    cluster: { replicas: 2, sweepIntervalMs: FAILURE.sweepIntervalMs, sweepGraceMs: FAILURE.sweepGraceMs },
  });
  const stored: ModelEntry[] = [];
  let cleanedUp: Promise<number> | undefined;

  it("1,000 blocks inserted from 2 clients load byte-identical from either, for the longest stored prefix", async () => {
    const [a, b] = [await cluster.connect(), await cluster.connect()];
    const entries = makeEntries(1000, 6, SEED);
    const toItems = (list: ModelEntry[]) => list.map((e) => ({ key: e.key, data: blockBytes(e.seed, e.size) }));
    const [ra, rb] = await Promise.all([a.insertMany(toItems(entries.filter((_, i) => i % 2 === 0))), b.insertMany(toItems(entries.filter((_, i) => i % 2 === 1)))]);
    expect([...ra, ...rb].every((r) => r.inserted)).toBe(true);
    stored.push(...entries);

    const next = prng(SEED + 1);
    const queries: CacheKey[] = Array.from({ length: 1000 }, (_, i) => {
      const base = entries[Math.floor(next() * entries.length)]!.key;
      return [base, extend(base, next), truncate(base, next), randomKey(next)][i % 4]!;
    });
    let hits = 0;
    for (const client of [a, b]) {
      const results = await client.tryLoadMany(queries);
      results.forEach((hit, i) => {
        const want = expectedPrefix(stored, queries[i]!);
        if (want === undefined) return expect(hit, keyId(queries[i]!)).toBeNull();
        hits++;
        expect(hit, keyId(queries[i]!)).not.toBeNull();
        expect(keyId(hit!.matchedPrefix)).toBe(keyId(want.key));
        expect(hit!.matchedPrefix.constructor).toBe(queries[i]!.constructor);
        expect(hit!.data.equals(blockBytes(want.seed, want.size)), `data for ${keyId(queries[i]!)}`).toBe(true);
      });
    }
    expect(hits).toBeGreaterThan(1000);

    // An existing key from the other client is an idempotent success; the first block stays.
    const first = entries[0]!;
    expect(await b.insert(first.key, Buffer.from("other data"))).toEqual({ inserted: false });
    await expectLoads(a, [first]);
  }, 300_000);

  it("SIGKILL of one node mid-workload: no wrong data, every block still loads", async () => {
    const client = await cluster.connect();
    const more = makeEntries(1200, 0, SEED + 7).filter((e) => !stored.some((s) => keyId(s.key) === keyId(e.key))).slice(0, 200);
    let killed: Promise<unknown> | undefined;
    for (let chunk = 0; chunk < more.length; chunk += 20) {
      const part = more.slice(chunk, chunk + 20);
      const inserting = client.insertMany(part.map((e) => ({ key: e.key, data: blockBytes(e.seed, e.size) })));
      if (chunk === 40) {
        killed = cluster.state.nodes[0]!.kill("SIGKILL");
        cleanedUp = timeUntilUnnamed(cluster.state.sdks[0]!.config.etcd, cluster.state.nodes[0]!.nodeId, Date.now());
        cleanedUp.catch(() => undefined); // awaited (and reported) by the next test
      }
      await inserting;
      stored.push(...part);
      // Reads during the failure: a hit is always the right block.
      const sample = stored.filter((_, i) => i % 37 === chunk % 37);
      const hits = await client.tryLoadMany(sample.map((e) => e.key));
      hits.forEach((hit, i) => {
        if (hit !== null) expect(hit.data.equals(blockBytes(sample[i]!.seed, sample[i]!.size))).toBe(true);
      });
    }
    await killed;
    await expectLoads(client, stored, cluster.state.events);
    await waitFor(async () => (await client.nodes()).length === 2, { what: "the killed node to leave membership", timeoutMs: 20_000 });
    await expectLoads(client, stored.slice(0, 100), cluster.state.events);
  }, 300_000);

  it("the sweep drops the dead node from every descriptor within lease TTL + sweep interval", async () => {
    expect(cleanedUp).toBeDefined();
    // A holder is dropped once a sweep has seen it absent for the grace period: the lease TTL, then up to
    // two sweep rounds, plus the repairs themselves (~700 compare-and-sets racing the other node's sweep on
    // a busy 2-core machine).
    const budgetMs = FAILURE.leaseTtlSeconds * 1000 + FAILURE.sweepGraceMs + 2 * FAILURE.sweepIntervalMs + 10_000;
    expect(await cleanedUp).toBeLessThanOrEqual(budgetMs);
    const metadata = await EtcdMetadataStore.connect({ config: cluster.state.sdks[0]!.config.etcd });
    try {
      let entries = 0;
      for await (const { entry } of metadata.entries()) {
        entries++;
        // Every entry still names a live copy (replicas 2, one node lost).
        expect(entry.descriptor.holders.length + (entry.descriptor.s3 ? 1 : 0)).toBeGreaterThan(0);
      }
      expect(entries).toBe(stored.length);
    } finally {
      await metadata.close();
    }
    await expectLoads(await cluster.state.sdks[0]!.connect(), stored.slice(0, 200), cluster.state.events);
  }, 120_000);
});

describe("cluster: replicas 1 with write-through to S3", () => {
  const cluster = clusterFixture(3, { cluster: { replicas: 1, writeThrough: true } });

  it("a dead node's blocks load from S3 through the surviving nodes", async () => {
    const client = await cluster.connect();
    const entries = makeEntries(60, 0, SEED + 11);
    await client.insertMany(entries.map((e) => ({ key: e.key, data: blockBytes(e.seed, e.size) })));
    const victim = cluster.state.nodes[1]!;
    const metadata = await EtcdMetadataStore.connect({ config: cluster.state.sdks[0]!.config.etcd });
    let onVictim = 0;
    try {
      await waitFor(async () => {
        let [all, held] = [true, 0];
        for await (const { entry } of metadata.entries()) {
          all &&= entry.descriptor.s3;
          if (entry.descriptor.holders.includes(victim.nodeId)) held++;
        }
        onVictim = held;
        return all;
      }, { what: "every block to be written through to S3", timeoutMs: 60_000 });
    } finally {
      await metadata.close();
    }
    // With one replica the victim is the only holder of its share of the blocks.
    expect(onVictim).toBeGreaterThan(5);
    await victim.kill("SIGKILL");
    await expectLoads(client, entries, cluster.state.events);
    // The victim's share came from S3 through non-holders, and the SDK counted it.
    const fallbacks = await cluster.state.sdks[0]!.registry.getSingleMetric("kvcache_sdk_s3_fallbacks_total")!.get();
    expect(fallbacks.values[0]?.value ?? 0).toBeGreaterThanOrEqual(onVictim);
  }, 240_000);
});

describe("cluster: capacity (64 MiB memory + 256 MiB disk receive 1 GiB)", () => {
  const cluster = clusterFixture(1, { memory: { capacityBytes: 64 * MiB }, disk: { capacityBytes: 256 * MiB }, sdk: { concurrency: 4 } });

  it("memory and disk never exceed their caps, the overflow goes to S3, every block loads", async () => {
    const client = await cluster.connect();
    const admin = cluster.state.nodes[0]!.adminUrl;
    const entries = Array.from({ length: 512 }, (_, i): ModelEntry => ({ key: `cap/${i}`, seed: SEED + 100 + i, size: 2 * MiB }));
    const peak = { memory: 0, disk: 0 };
    for (let i = 0; i < entries.length; i += 8) {
      await client.insertMany(entries.slice(i, i + 8).map((e) => ({ key: e.key, data: blockBytes(e.seed, e.size) })));
      peak.memory = Math.max(peak.memory, (await scrapeGauge(admin, "kvcache_tier_bytes", 'tier="memory"')) ?? 0);
      peak.disk = Math.max(peak.disk, (await scrapeGauge(admin, "kvcache_tier_bytes", 'tier="disk"')) ?? 0);
    }
    expect(peak.memory).toBeGreaterThan(0);
    expect(peak.memory).toBeLessThanOrEqual(64 * MiB);
    expect(peak.disk).toBeLessThanOrEqual(256 * MiB);
    const stats = await client.stats();
    const tiers = "tiers" in stats.nodes[0]! ? stats.nodes[0].tiers : {};
    expect(tiers["memory"]!.bytes).toBeLessThanOrEqual(64 * MiB);
    expect(tiers["disk"]!.bytes).toBeLessThanOrEqual(256 * MiB);
    expect(tiers["s3"]!.bytes).toBeGreaterThanOrEqual(1024 * MiB - 320 * MiB);
    for (let i = 0; i < entries.length; i += 16) await expectLoads(client, entries.slice(i, i + 16), cluster.state.events);
  }, 300_000);
});

describe("cluster: bad input", () => {
  it("an unknown config key is refused, naming it", () => {
    expect(() => new DatenLordSDK({ env: {}, options: { ...testConfigOverrides(), clustre: { replicas: 2 } } as ConfigOverrides })).toThrow(/clustre/);
  });

  it("etcd unreachable at connect → ERR_ETCD_UNAVAILABLE naming the endpoints", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const sdk = new DatenLordSDK({ env: {}, etcd: { endpoints: [endpoint], requestTimeoutMs: 1000 } });
    try {
      const err = await sdk.connect().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(KvCacheError);
      expect((err as KvCacheError).code).toBe(ErrorCode.ETCD_UNAVAILABLE);
      expect((err as KvCacheError).message).toContain(endpoint);
    } finally {
      await sdk.close();
    }
  });
});
