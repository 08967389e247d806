import { DatenLordSDK } from "../sdk/index.js";
import { balancedRounds, describe, interleave, measuredRound, MiB, patternBytes, runRound, summarize, type Round } from "./measure.js";
import { sizeLabel } from "./hot-load.js";
import type { BenchRow } from "./report.js";

export interface EmbeddedSettings {
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly rounds: number;
  readonly bytesPerRound: number;
}

/**
 * tryLoad hits in embedded mode (in-memory metadata, the memory tier, one
 * process, no network) vs the in-process floor of a hit: a Map lookup and a
 * private copy of the block, which every load returns; then both into one
 * reused buffer per worker (tryLoad's `into`, and a copy into that buffer).
 */
export async function benchEmbedded(s: EmbeddedSettings): Promise<BenchRow[]> {
  await using sdk = new DatenLordSDK({ env: {}, options: { namespace: "bench", memory: { capacityBytes: 512 * MiB }, disk: { directory: "" } } });
  const client = await sdk.connect();
  const rows: BenchRow[] = [];
  for (const size of s.sizes) {
    const keys = Array.from({ length: Math.max(4, Math.min(64, Math.floor((32 * MiB) / size))) }, (_, i) => `bench/embedded/${size}/${i}`);
    const map = new Map<string, Buffer>();
    for (const [i, key] of keys.entries()) {
      const value = patternBytes(size + i, size);
      await client.insert(key, value);
      map.set(key, value);
    }
    const ops = Math.max(s.concurrency * 4, Math.round(s.bytesPerRound / size));
    const self = [process.pid];
    const buffers = Array.from({ length: s.concurrency }, () => Buffer.alloc(size));
    const round = (op: (i: number, worker: number) => Promise<number>) => (): Promise<Round> => measuredRound(self, () => runRound(ops, s.concurrency, op));
    const contenders = {
      sdk: round(async (i) => (await client.tryLoad(keys[i % keys.length]!))!.data.length),
      copy: round(async (i) => Buffer.from(map.get(keys[i % keys.length]!)!).length),
      sdkInto: round(async (i, w) => (await client.tryLoad(keys[i % keys.length]!, { into: buffers[w]! }))!.data.length),
      copyInto: round(async (i, w) => map.get(keys[i % keys.length]!)!.copy(buffers[w]!)),
    };
    await interleave(1, contenders);
    const result = await interleave(balancedRounds(s.rounds, Object.keys(contenders).length), contenders);
    const [mine, floor, mineInto, floorInto] = (["sdk", "copy", "sdkInto", "copyInto"] as const).map((k) => summarize(result[k]!));
    const row = (how: string, ours: typeof mine, baseline: string, base: typeof mine): BenchRow => ({
      section: "embedded mode",
      name: `tryLoad hit ${sizeLabel(size)}${how}, ${s.concurrency} concurrent, no network`,
      value: ours!.gbps,
      unit: "GB/s",
      extra: describe(ours!),
      baseline: { name: baseline, value: base!.gbps, extra: describe(base!) },
    });
    rows.push(row("", mine, "in-process Map.get + copy", floor), row(" into a reused buffer", mineInto, "Map.get + copy into a reused buffer", floorInto));
  }
  return rows;
}
