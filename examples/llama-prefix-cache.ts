/**
 * A real inference engine reusing prompt KV state through the cache. Runs a
 * prompt twice on a generated random-weight llama model (nothing downloaded):
 * the cold run prefills and stores block-aligned prefix states; the warm run
 * restores the longest cached prefix and evaluates only the rest.
 *
 *   npm run example:llama                                  # embedded cache, "small" model
 *   npm run example:llama -- --size medium --config config/local.json
 *
 * Options: --size tiny|small|medium, --model <file.gguf> (instead of generating),
 * --prompt <text>, --max-tokens <n>, --block <tokens>, --config <cache config JSON>.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Token } from "node-llama-cpp";
import { DatenLordSDK } from "../sdk/index.js";
import { LlamaEngine } from "./llama/engine.js";
import { isModelSize } from "./llama/gguf/random-llama.js";
import { ensureModelFile } from "./llama/model-file.js";
import { LlamaPrefixCache, type PrefixCacheRun } from "./llama/prefix-cache.js";
import { StateFiles } from "./llama/state-io.js";
import { SAMPLE_PROMPT } from "./llama/sample-prompt.js";

const { values: args } = parseArgs({
  options: {
    size: { type: "string", default: "small" },
    model: { type: "string" },
    prompt: { type: "string", default: SAMPLE_PROMPT },
    "max-tokens": { type: "string", default: "24" },
    block: { type: "string", default: "64" },
    config: { type: "string" },
  },
});
if (!isModelSize(args.size)) throw new Error(`--size must be tiny, small or medium, not ${args.size}`);
const maxTokens = positiveInt("--max-tokens", args["max-tokens"]);
const blockTokens = positiveInt("--block", args.block);

const modelPath = args.model ?? (await ensureModelFile({ size: args.size })).path;
await using engine = await LlamaEngine.open({ modelPath, contextSize: 4096 });
const diskDir = await mkdtemp(join(tmpdir(), "datenlord-llama-example-"));
try {
  // Embedded by default (a temp disk tier); --config points at a cluster or another setup.
  const cacheOptions = args.config !== undefined ? { configPath: args.config } : { disk: { directory: diskDir } };
  await using sdk = new DatenLordSDK({ ...cacheOptions, namespace: engine.namespace });
  await using client = await sdk.connect();
  await using stateFiles = await StateFiles.create();
  const cache = new LlamaPrefixCache({ client, stateFiles, blockTokens });
  const tokens = engine.tokenize(args.prompt);
  const modelMb = (engine.model.size / 1e6).toFixed(1);
  console.log(`model ${modelPath} (${args.model === undefined ? args.size : "given"}, ${modelMb} MB), ${client.mode} cache, namespace ${engine.namespace}`);
  console.log(`prompt: ${tokens.length} tokens`);

  // Two contexts stand for two requests (or two processes): nothing carries over but the cache.
  const cold = await runOnce(engine, cache, tokens, maxTokens);
  report("cold", cold, engine);
  const warm = await runOnce(engine, cache, tokens, maxTokens);
  report("warm", warm, engine);
  const same = warm.generated.join() === cold.generated.join();
  console.log(`time to first token: cold ${ms(cold.ttftMs)}, warm ${ms(warm.ttftMs)} (${(cold.ttftMs / warm.ttftMs).toFixed(1)}x faster); same output: ${same ? "yes" : "NO"}`);
} finally {
  await rm(diskDir, { recursive: true, force: true });
}

async function runOnce(engine: LlamaEngine, cache: LlamaPrefixCache, tokens: Token[], maxTokens: number): Promise<PrefixCacheRun> {
  await using context = await engine.createContext();
  return await cache.run(context.getSequence(), tokens, { maxTokens });
}

function report(label: string, run: PrefixCacheRun, engine: LlamaEngine): void {
  const storedBytes = run.stored.reduce((sum, s) => sum + s.bytes, 0);
  console.log(`\n[${label}] matched prefix: ${run.matchedTokens}/${run.promptTokens} tokens` +
    (run.matchedTokens > 0 ? ` (state ${kib(run.restoredBytes)} restored, lookup ${ms(run.lookupMs)})` : "") +
    `; evaluated ${run.promptTokens - run.matchedTokens} tokens; stored ${run.stored.length} prefix states (${kib(storedBytes)})` +
    (run.matchedTokens > 0 ? `; ${Math.round(run.restoredBytes / run.matchedTokens)} state bytes per token` : ""));
  console.log(`[${label}] time to first token: ${ms(run.ttftMs)}`);
  console.log(`[${label}] generated: ${JSON.stringify(engine.detokenize(run.generated))}`);
}

function positiveInt(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer; got ${text}`);
  return value;
}

function ms(v: number): string {
  return `${v.toFixed(1)} ms`;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}
