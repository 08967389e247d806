import type { Redis } from "ioredis";
import type { KvCacheClient } from "../sdk/index.js";
import type { BaselineProcess } from "./baselines.js";
import { balancedRounds, describe, interleave, KiB, measuredRound, MiB, pairedRange, patternBytes, runRound, summarize, type Round, type Summary } from "./measure.js";
import type { BenchRow } from "./report.js";

export interface HotLoadSettings {
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly rounds: number;
  /** Bytes each round moves, per contender. */
  readonly bytesPerRound: number;
}

export interface HotLoadDeps {
  /** The SDK as configured by default: it reaches these same-host nodes through their shared memory files. */
  readonly client: KvCacheClient;
  /** The same cluster with sdk.sharedMemory off: every byte over TCP, as a client on another host would see it. */
  readonly tcpClient: KvCacheClient;
  /** Stores the values Redis serves (untimed). */
  readonly redis: Redis;
  /** Runs the baselines' rounds: Redis GET and the raw sockets, in a process of their own. */
  readonly baselines: BaselineProcess;
  /** Processes whose CPU each contender's rounds are charged with. */
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
 * tryLoad hits through the SDK (lookup in etcd + the block from a node's memory
 * tier: through its shared memory file by default, and over TCP in the rows so marked),
 * Redis GET of the same values through ioredis, and the raw loopback ceiling,
 * `concurrency` requests in flight each, rounds interleaved.
 */
export async function benchHotLoad(deps: HotLoadDeps, s: HotLoadSettings): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const size of s.sizes) rows.push(...(await benchSize(deps, s, size)));
  return rows;
}

async function benchSize(deps: HotLoadDeps, s: HotLoadSettings, size: number): Promise<BenchRow[]> {
  const runs = contenders(deps, s, size, await storeBlocks(deps, size));
  await interleave(1, runs); // warm-up: connections, JIT
  const result = await interleave(balancedRounds(s.rounds, Object.keys(runs).length), runs);
  const [mine, into, tcp, theirs, ceiling, onread] = (["sdk", "into", "tcp", "redis", "raw", "direct"] as const).map((k) => summarize(result[k]!)) as [Summary, Summary, Summary, Summary, Summary, Summary];
  const range = (a: string, b: string): readonly [number, number] => pairedRange(result[a]!, result[b]!);
  const row = (how: string, ours: Summary, baseline: string, base: Summary, ratioRange: readonly [number, number], target?: number): BenchRow => ({
    section: "hot-tier load",
    name: `tryLoad hit ${sizeLabel(size)}${how}, ${s.concurrency} concurrent`,
    value: ours.gbps,
    unit: "GB/s",
    extra: describe(ours),
    baseline: { name: baseline, value: base.gbps, extra: describe(base) },
    ratioRange,
    ...(target !== undefined && size === MiB ? { target: { op: ">=", ratio: target } } : {}),
  });
  const reused = " into a reused buffer";
  return [
    row("", mine, "Redis GET (ioredis)", theirs, range("sdk", "redis")), row("", mine, "raw loopback TCP", ceiling, range("sdk", "raw")),
    row(reused, into, "Redis GET (ioredis)", theirs, range("into", "redis"), 2.0), row(reused, into, "raw loopback TCP", ceiling, range("into", "raw"), 0.5),
    row(reused, into, "raw TCP, onread into a reused buffer", onread, range("into", "direct")),
    row(`${reused}, over TCP`, tcp, "Redis GET (ioredis)", theirs, range("tcp", "redis")), row(`${reused}, over TCP`, tcp, "raw loopback TCP", ceiling, range("tcp", "raw")),
  ];
}

/**
 * One round of each contender: the SDK (three ways), Redis, and the raw socket
 * read both ways: 'data' events (the plain Node socket, the ceiling the targets
 * refer to) and net's onread into a reused buffer (what a Node socket moves when
 * reads skip the chunk machinery).
 */
function contenders(deps: HotLoadDeps, s: HotLoadSettings, size: number, keys: readonly string[]): Record<string, () => Promise<Round>> {
  const ops = Math.max(s.concurrency * 4, Math.round(s.bytesPerRound / size));
  const round = (pids: readonly number[], op: (i: number, worker: number) => Promise<number>) => () => measuredRound(pids, () => runRound(ops, s.concurrency, op));
  const elsewhere = (pids: readonly number[], request: Parameters<BaselineProcess["round"]>[0]) => () => measuredRound(pids, () => deps.baselines.round(request));
  const { concurrency } = s;
  const buffers = Array.from({ length: s.concurrency }, () => Buffer.alloc(size));
  return {
    sdk: round(deps.pids.sdk, async (i) => (await deps.client.tryLoad(keys[i % keys.length]!))!.data.length),
    into: round(deps.pids.sdk, async (i, worker) => (await deps.client.tryLoad(keys[i % keys.length]!, { into: buffers[worker]! }))!.data.length),
    tcp: round(deps.pids.sdk, async (i, worker) => (await deps.tcpClient.tryLoad(keys[i % keys.length]!, { into: buffers[worker]! }))!.data.length),
    redis: elsewhere(deps.pids.redis, { kind: "get", ops, concurrency, keys }),
    raw: elsewhere(deps.pids.raw, { kind: "raw", ops, concurrency, size, blocks: keys.length, direct: false }),
    direct: elsewhere(deps.pids.raw, { kind: "raw", ops, concurrency, size, blocks: keys.length, direct: true }),
  };
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
