import type { Redis } from "ioredis";
import type { KvCacheClient } from "../sdk/index.js";
import { describe, interleave, KiB, measuredRound, MiB, patternBytes, runRound, summarize, type Round } from "./measure.js";
import { RawTcpClient } from "./raw-tcp.js";
import type { BenchRow } from "./report.js";

export interface HotLoadSettings {
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly rounds: number;
  /** Bytes each round moves, per contender. */
  readonly bytesPerRound: number;
}

export interface HotLoadDeps {
  readonly client: KvCacheClient;
  readonly redis: Redis;
  readonly rawPort: number;
  /** Processes whose CPU each contender's rounds are charged with (this process included). */
  readonly pids: { readonly sdk: readonly number[]; readonly redis: readonly number[]; readonly raw: readonly number[] };
}

/** Distinct blocks stored per size: enough that no single key is hot, few enough to fit any memory tier. */
function blockCount(size: number): number {
  return Math.max(4, Math.min(64, Math.floor((32 * MiB) / size)));
}

export function sizeLabel(size: number): string {
  return size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`;
}

/**
 * tryLoad hits through the SDK (lookup in etcd + GET from a node's memory tier),
 * Redis GET of the same values through ioredis, and the raw loopback ceiling,
 * `concurrency` requests in flight each, rounds interleaved.
 */
export async function benchHotLoad(deps: HotLoadDeps, s: HotLoadSettings): Promise<BenchRow[]> {
  const raws = await Promise.all(Array.from({ length: s.concurrency }, () => RawTcpClient.open(deps.rawPort)));
  try {
    const rows: BenchRow[] = [];
    for (const size of s.sizes) rows.push(...(await benchSize(deps, raws, s, size)));
    return rows;
  } finally {
    for (const r of raws) r.close();
  }
}

async function benchSize(deps: HotLoadDeps, raws: readonly RawTcpClient[], s: HotLoadSettings, size: number): Promise<BenchRow[]> {
  const keys = await storeBlocks(deps, size);
  const ops = Math.max(s.concurrency * 4, Math.round(s.bytesPerRound / size));
  const sdk = (): Promise<Round> => measuredRound(deps.pids.sdk, () => runRound(ops, s.concurrency, async (i) => (await deps.client.tryLoad(keys[i % keys.length]!))!.data.length));
  const redis = (): Promise<Round> => measuredRound(deps.pids.redis, () => runRound(ops, s.concurrency, async (i) => (await deps.redis.getBuffer(keys[i % keys.length]!))!.length));
  const raw = (): Promise<Round> => measuredRound(deps.pids.raw, () => runRound(ops, s.concurrency, (_, worker) => raws[worker]!.fetch(size)));
  await Promise.all([sdk(), redis(), raw()].map((p) => p.then(() => undefined))); // warm-up: connections, JIT
  const result = await interleave(s.rounds, { sdk, redis, raw });
  const [mine, theirs, ceiling] = [summarize(result["sdk"]!), summarize(result["redis"]!), summarize(result["raw"]!)];
  const name = `tryLoad hit ${sizeLabel(size)}, ${s.concurrency} concurrent`;
  const extra = describe(mine);
  const is1MiB = size === MiB;
  return [
    { section: "hot-tier load", name, value: mine.gbps, unit: "GB/s", extra, baseline: { name: "Redis GET (ioredis)", value: theirs.gbps, extra: describe(theirs) }, ...(is1MiB ? { target: { op: ">=", ratio: 2.0 } } : {}) },
    { section: "hot-tier load", name, value: mine.gbps, unit: "GB/s", extra, baseline: { name: "raw loopback TCP", value: ceiling.gbps, extra: describe(ceiling) }, ...(is1MiB ? { target: { op: ">=", ratio: 0.5 } } : {}) },
  ];
}

/** Inserts the blocks of one size through the SDK and SETs the same values in Redis; returns their keys. */
async function storeBlocks(deps: HotLoadDeps, size: number): Promise<string[]> {
  const keys = Array.from({ length: blockCount(size) }, (_, i) => `bench/hot/${size}/${i}`);
  for (const [i, key] of keys.entries()) {
    const value = patternBytes(size + i, size);
    await deps.client.insert(key, value, { overwrite: true });
    await deps.redis.set(key, value);
  }
  return keys;
}
