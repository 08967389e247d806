import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { KvCacheClient } from "../sdk/index.js";
import { loadConfig, type ConfigOverrides } from "../src/config.js";
import { makeS3Client } from "../storage/s3-client.js";
import type { BaselineProcess } from "./baselines.js";
import { balancedRounds, describe, interleave, measuredRound, pairedRange, patternBytes, runRound, summarize, type Round } from "./measure.js";
import { sizeLabel } from "./hot-load.js";
import type { BenchRow } from "./report.js";

export interface ColdSettings {
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly rounds: number;
  readonly blocks: number;
}

export interface ColdDeps {
  /** A client on the cold node: its blocks go straight to S3 and are never promoted. */
  readonly client: KvCacheClient;
  readonly s3: NonNullable<ConfigOverrides["s3"]>;
  /** Runs the raw GetObject rounds, in a process of its own. */
  readonly baselines: BaselineProcess;
  readonly pids: { readonly sdk: readonly number[]; readonly raw: readonly number[] };
}

/**
 * tryLoad of blocks held only in S3 (lookup in etcd, then, the SDK having S3
 * settings, a GetObject of its own, verified) vs a raw GetObject of the same
 * objects from this process, with a client built by the S3 tier's own factory.
 * Each round reads every block three times, so a round lasts long enough for
 * its CPU figure (100 Hz ticks) to mean something.
 */
export async function benchCold(deps: ColdDeps, s: ColdSettings): Promise<BenchRow[]> {
  const config = loadConfig({ overrides: { s3: deps.s3 }, env: {} }).s3;
  const s3 = makeS3Client(config);
  try {
    const rows: BenchRow[] = [];
    for (const size of s.sizes) {
      const keys = Array.from({ length: s.blocks }, (_, i) => `bench/cold/${size}/${i}`);
      const before = new Set(await listObjects(s3, config.bucket, config.prefix));
      for (const [i, key] of keys.entries()) await deps.client.insert(key, patternBytes(3 * size + i, size), { overwrite: true });
      const objects = (await listObjects(s3, config.bucket, config.prefix)).filter((k) => !before.has(k));
      if (objects.length !== keys.length) throw new Error(`expected ${keys.length} new S3 objects, found ${objects.length}`);
      const ops = Math.max(s.concurrency * 2, s.blocks * 3);
      const sdk = (): Promise<Round> => measuredRound(deps.pids.sdk, () => runRound(ops, s.concurrency, async (i) => (await deps.client.tryLoad(keys[i % keys.length]!))!.data.length));
      const raw = (): Promise<Round> => measuredRound(deps.pids.raw, () => deps.baselines.round({ kind: "getObject", ops, concurrency: s.concurrency, s3: config, objects }));
      await interleave(1, { sdk, raw });
      const result = await interleave(balancedRounds(s.rounds, 2), { sdk, raw });
      const [mine, theirs] = [summarize(result["sdk"]!), summarize(result["raw"]!)];
      rows.push({
        section: "cold path (S3 only)",
        name: `tryLoad ${sizeLabel(size)} held only in S3, ${s.concurrency} concurrent`,
        value: mine.gbps,
        unit: "GB/s",
        extra: describe(mine),
        baseline: { name: "raw GetObject (AWS SDK)", value: theirs.gbps, extra: describe(theirs) },
        ratioRange: pairedRange(result["sdk"]!, result["raw"]!),
        target: { op: ">=", ratio: 0.8 },
      });
    }
    return rows;
  } finally {
    s3.destroy();
  }
}

async function listObjects(s3: ReturnType<typeof makeS3Client>, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key !== undefined) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}
