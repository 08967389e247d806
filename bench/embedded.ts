import { DatenLordSDK } from "../sdk/index.js";
import { describe, interleave, measuredRound, MiB, patternBytes, runRound, summarize, type Round } from "./measure.js";
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
 * private copy of the block, which every load returns.
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
    const sdkRound = (): Promise<Round> => measuredRound(self, () => runRound(ops, s.concurrency, async (i) => (await client.tryLoad(keys[i % keys.length]!))!.data.length));
    const copyRound = (): Promise<Round> => measuredRound(self, () => runRound(ops, s.concurrency, async (i) => Buffer.from(map.get(keys[i % keys.length]!)!).length));
    await interleave(1, { sdkRound, copyRound });
    const result = await interleave(s.rounds, { sdkRound, copyRound });
    const [mine, floor] = [summarize(result["sdkRound"]!), summarize(result["copyRound"]!)];
    rows.push({
      section: "embedded mode",
      name: `tryLoad hit ${sizeLabel(size)}, ${s.concurrency} concurrent, no network`,
      value: mine.gbps,
      unit: "GB/s",
      extra: describe(mine),
      baseline: { name: "in-process Map.get + copy", value: floor.gbps, extra: describe(floor) },
    });
  }
  return rows;
}
