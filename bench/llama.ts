import type { ConfigOverrides } from "../src/config.js";
import { benchLlamaTtft, type LlamaTtftRow } from "../examples/llama/bench.js";
import type { ModelSize } from "../examples/llama/gguf/random-llama.js";
import type { BenchRow } from "./report.js";

export interface LlamaSettings {
  readonly size: ModelSize;
  readonly promptTokens: readonly number[];
  readonly repeats: number;
}

/**
 * Time to first token of a generated llama model (examples/llama/bench.ts):
 * cold prefill vs the state restored from the hot tier and from S3, in
 * embedded mode. Each warm row's baseline is the cold prefill of the same prompt.
 */
export async function benchLlama(s: LlamaSettings, s3: NonNullable<ConfigOverrides["s3"]>): Promise<BenchRow[]> {
  const rows = await benchLlamaTtft({
    size: s.size,
    promptTokens: s.promptTokens,
    repeats: s.repeats,
    hot: { disk: { directory: "" } },
    // A state larger than 1 byte of memory goes straight to S3 and is never promoted.
    s3: { s3: { ...s3, prefix: "bench-llama" }, memory: { capacityBytes: 1 }, disk: { directory: "" } },
  });
  return rows.map((row) => toBenchRow(row, rows));
}

function toBenchRow(row: LlamaTtftRow, all: readonly LlamaTtftRow[]): BenchRow {
  const cold = all.find((r) => r.promptTokens === row.promptTokens && r.source === "cold prefill")!;
  const model = `${row.model} model, ${(row.modelBytes / 1e6).toFixed(0)} MB, ${(row.parameters / 1e6).toFixed(1)} M params`;
  const state = row.stateBytes === 0 ? "" : `, state ${(row.stateBytes / 1e6).toFixed(1)} MB`;
  return {
    section: "llama TTFT",
    name: `P = ${row.promptTokens}: ${row.source} (${model})`,
    value: row.ttftMs,
    unit: "ms",
    extra: `matched ${row.matchedTokens} tokens${state}`,
    ...(row === cold ? {} : { baseline: { name: "cold prefill", value: cold.ttftMs } }),
  };
}
