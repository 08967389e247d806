/**
 * Time to first token with and without the cache, for `npm run bench`: for each
 * prompt length P, a cold prefill (no cache), then warm runs that restore the
 * state of the prompt's first P-1 tokens from the cache's hot tier and from S3
 * and evaluate only the last token. Each figure is the median of `repeats`
 * runs, each in a fresh context. The model is generated (nothing downloaded).
 */
import { DatenLordSDK, type ConfigOverrides } from "../../sdk/index.js";
import { LlamaEngine } from "./engine.js";
import { MODEL_SIZES, parameterCount, type ModelSize } from "./gguf/random-llama.js";
import { Prng } from "./gguf/prng.js";
import { buildSpmVocab } from "./gguf/spm-vocab.js";
import { ensureModelFile } from "./model-file.js";
import { LlamaPrefixCache, type PrefixCacheRun } from "./prefix-cache.js";
import { StateFiles } from "./state-io.js";
import type { Token } from "node-llama-cpp";

export interface LlamaTtftBenchOptions {
  /** Generated model preset (default "medium"). */
  readonly size?: ModelSize;
  readonly modelDirectory?: string;
  /** Prompt lengths in tokens (default 64, 256, 1024). */
  readonly promptTokens?: readonly number[];
  /** Cache configuration for the hot-tier rows (default: embedded, memory tier only). */
  readonly hot?: ConfigOverrides;
  /**
   * Cache configuration whose reads come from S3, e.g. embedded with `s3.*` set and
   * `memory.capacityBytes: 1`, `disk.directory: ""` (a block larger than memory goes straight to S3 and is
   * never promoted). Absent: no S3 rows.
   */
  readonly s3?: ConfigOverrides;
  /** Runs per figure; the median is reported (default 3). */
  readonly repeats?: number;
  readonly threads?: number;
}

export type TtftSource = "cold prefill" | "warm: hot tier" | "warm: S3";

export interface LlamaTtftRow {
  readonly model: string;
  readonly modelBytes: number;
  readonly parameters: number;
  readonly promptTokens: number;
  readonly source: TtftSource;
  /** Median time to first token, ms. */
  readonly ttftMs: number;
  readonly matchedTokens: number;
  /** Size of the restored state (warm rows; 0 for cold). */
  readonly stateBytes: number;
  readonly stateBytesPerToken: number;
}

export async function benchLlamaTtft(options: LlamaTtftBenchOptions = {}): Promise<LlamaTtftRow[]> {
  const size = options.size ?? "medium";
  const lengths = options.promptTokens ?? [64, 256, 1024];
  const file = await ensureModelFile({ size, directory: options.modelDirectory });
  await using engine = await LlamaEngine.open({ modelPath: file.path, contextSize: Math.max(...lengths) + 16, threads: options.threads });
  await using stateFiles = await StateFiles.create();
  const base = { model: size, modelBytes: file.sizeBytes, parameters: parameterCount(MODEL_SIZES[size]) };
  const measure = (source: TtftSource, cache: ConfigOverrides | undefined, tokens: Token[]) =>
    measureRow(engine, stateFiles, { source, cache, tokens, repeats: options.repeats ?? 3 });
  const rows: LlamaTtftRow[] = [];
  for (const p of lengths) {
    const tokens = benchPrompt(engine, p);
    rows.push({ ...base, ...(await measure("cold prefill", undefined, tokens)) });
    rows.push({ ...base, ...(await measure("warm: hot tier", options.hot ?? { disk: { directory: "" } }, tokens)) });
    if (options.s3 !== undefined) rows.push({ ...base, ...(await measure("warm: S3", options.s3, tokens)) });
  }
  return rows;
}

interface Measurement {
  readonly source: TtftSource;
  /** No cache: a plain prefill. */
  readonly cache: ConfigOverrides | undefined;
  readonly tokens: Token[];
  readonly repeats: number;
}

type RowFigures = Pick<LlamaTtftRow, "promptTokens" | "source" | "ttftMs" | "matchedTokens" | "stateBytes" | "stateBytesPerToken">;

async function measureRow(engine: LlamaEngine, stateFiles: StateFiles, m: Measurement): Promise<RowFigures> {
  // A namespace of its own per row: a warm row only ever sees the state its own first run stored.
  const namespace = `${engine.namespace}/bench-${m.source.replace(/\W+/g, "")}-${m.tokens.length}-${Date.now()}`;
  await using sdk = m.cache === undefined ? undefined : new DatenLordSDK({ env: {}, options: { ...m.cache, namespace } });
  const client = sdk === undefined ? null : await sdk.connect();
  // Block size = prompt length: only the tail state (P-1 tokens) is stored.
  const cache = new LlamaPrefixCache({ client, stateFiles, blockTokens: m.tokens.length });
  const run = async (): Promise<PrefixCacheRun> => {
    await using context = await engine.createContext();
    return await cache.run(context.getSequence(), m.tokens, { maxTokens: 1, unsplit: client === null });
  };
  if (client !== null) await run(); // stores the state the warm runs restore
  const runs: PrefixCacheRun[] = [];
  for (let i = 0; i < m.repeats; i++) runs.push(await run());
  const last = runs.at(-1)!;
  if (client !== null && last.matchedTokens !== m.tokens.length - 1) throw new Error(`warm run matched ${last.matchedTokens} of ${m.tokens.length - 1} tokens`);
  return {
    promptTokens: m.tokens.length,
    source: m.source,
    ttftMs: median(runs.map((r) => r.ttftMs)),
    matchedTokens: last.matchedTokens,
    stateBytes: last.restoredBytes,
    stateBytesPerToken: last.matchedTokens === 0 ? 0 : last.restoredBytes / last.matchedTokens,
  };
}

/** BOS, then P-1 text-piece ids drawn from a seed per length (prompts of different P share no prefix). */
function benchPrompt(engine: LlamaEngine, length: number): Token[] {
  const rng = new Prng(length, "bench-prompt");
  const vocabSize = buildSpmVocab().tokens.length;
  const firstText = 3 + 256;
  const tokens = Array.from({ length: length - 1 }, () => (firstText + (rng.next() % (vocabSize - firstText))) as Token);
  return [engine.model.tokens.bos ?? (1 as Token), ...tokens];
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
