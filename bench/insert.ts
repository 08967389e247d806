import type { KvCacheClient } from "../sdk/index.js";
import type { BaselineProcess } from "./baselines.js";
import { balancedRounds, describe, interleave, measuredRound, MiB, pairedRange, patternBytes, runRound, summarize, type Round } from "./measure.js";
import { sizeLabel } from "./hot-load.js";
import type { BenchRow } from "./report.js";

export interface InsertSettings {
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly rounds: number;
  readonly bytesPerRound: number;
}

export interface InsertDeps {
  /** Default settings: bytes go into same-host nodes through their shared memory files. */
  readonly client: KvCacheClient;
  /** sdk.sharedMemory off: PUT over TCP. */
  readonly tcpClient: KvCacheClient;
  /** Runs the Redis SET rounds, in a process of its own. */
  readonly baselines: BaselineProcess;
  readonly pids: { readonly sdk: readonly number[]; readonly redis: readonly number[] };
}

/**
 * New keys through the SDK (checksum, the bytes to a node: through its shared
 * memory file by default, PUT over TCP in the rows so marked; descriptor
 * published in etcd) vs Redis SET of the same values, rounds interleaved. Every round writes
 * fresh keys, then deletes them untimed, so memory stays bounded.
 */
export async function benchInsert(deps: InsertDeps, s: InsertSettings): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const size of s.sizes) rows.push(...(await benchSize(deps, s, size)));
  return rows;
}

async function benchSize(deps: InsertDeps, s: InsertSettings, size: number): Promise<BenchRow[]> {
  const seed = 7 * size;
  const values = Array.from({ length: 16 }, (_, i) => patternBytes(seed + i, size));
  const ops = Math.max(s.concurrency * 4, Math.round(s.bytesPerRound / size));
  let round = 0;
  const inserts = (client: KvCacheClient) => async (): Promise<Round> => {
    const keys = Array.from({ length: ops }, (_, i) => `bench/insert/${size}/${round}/${i}`);
    round++;
    const result = await measuredRound(deps.pids.sdk, () => runRound(ops, s.concurrency, async (i) => {
      const outcome = await client.insert(keys[i]!, values[i % values.length]!);
      if (!outcome.inserted) throw new Error(`insert of new key ${keys[i]} reported an existing key`);
      return size;
    }));
    await deleteAll(keys, (key) => client.delete(key));
    return result;
  };
  const [sdk, tcp] = [inserts(deps.client), inserts(deps.tcpClient)];
  // The same values (same seed), SET under fresh keys that are unlinked after each round, untimed.
  const redis = async (): Promise<Round> => {
    const prefix = `bench/insert/${size}/${round++}/`;
    const result = await measuredRound(deps.pids.redis, () => deps.baselines.round({ kind: "set", ops, concurrency: s.concurrency, prefix, size, seed }));
    await deps.baselines.unlink(prefix, ops);
    return result;
  };
  await interleave(1, { sdk, tcp, redis }); // warm-up
  const result = await interleave(balancedRounds(s.rounds, 3), { sdk, tcp, redis });
  const theirs = summarize(result["redis"]!);
  const row = (how: string, key: string, target?: number): BenchRow => {
    const mine = summarize(result[key]!);
    return {
      section: "insert",
      name: `insert ${sizeLabel(size)}${how}, ${s.concurrency} concurrent`,
      value: mine.gbps,
      unit: "GB/s",
      extra: describe(mine, "blocks"),
      baseline: { name: "Redis SET (ioredis)", value: theirs.gbps, extra: describe(theirs, "blocks") },
      ratioRange: pairedRange(result[key]!, result["redis"]!),
      ...(target !== undefined && size === MiB ? { target: { op: ">=", ratio: target } } : {}),
    };
  };
  return [row("", "sdk", 1.0), row(", over TCP", "tcp")];
}

async function deleteAll(keys: readonly string[], del: (key: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map(del));
}
