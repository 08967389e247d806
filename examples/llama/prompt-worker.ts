/**
 * Runs prompts through the prefix cache in a process of its own and prints one
 * JSON line with the results: the multi-process test starts it as "process A"
 * and "process B". Usage: `node --import tsx prompt-worker.ts '<WorkerJob JSON>'`.
 */
import type { LlamaContextSequence } from "node-llama-cpp";
import { DatenLordSDK, type ConfigOverrides } from "../../sdk/index.js";
import { LlamaEngine } from "./engine.js";
import type { NamespaceParts } from "./namespace.js";
import { LlamaPrefixCache, type PrefixCacheRun } from "./prefix-cache.js";
import { StateFiles } from "./state-io.js";

export interface WorkerJob {
  readonly modelPath: string;
  /** Cache configuration (etcd, S3…); the namespace is the engine's. */
  readonly cache: ConfigOverrides;
  readonly blockTokens: number;
  readonly prompts: ReadonlyArray<{
    readonly text: string;
    readonly maxTokens: number;
    /** Also run the prompt from scratch, without the cache, split where the cached run restored. */
    readonly reference?: boolean;
  }>;
}

export type RunResult = Omit<PrefixCacheRun, "firstTokenAt"> & { readonly tokens: number[] };

export interface WorkerResult {
  readonly namespace: string;
  /** What the namespace was made of, so a test can name another model's namespace. */
  readonly namespaceParts: NamespaceParts;
  readonly mode: "cluster" | "embedded";
  readonly runs: ReadonlyArray<RunResult & { readonly reference?: RunResult }>;
}

async function main(job: WorkerJob): Promise<WorkerResult> {
  await using engine = await LlamaEngine.open({ modelPath: job.modelPath });
  // env: {} keeps the job's configuration exact (no DATENLORD_* from the environment).
  await using sdk = new DatenLordSDK({ env: {}, options: { ...job.cache, namespace: engine.namespace } });
  await using client = await sdk.connect();
  await using stateFiles = await StateFiles.create();
  const cached = new LlamaPrefixCache({ client, stateFiles, blockTokens: job.blockTokens });
  const scratch = new LlamaPrefixCache({ client: null, stateFiles, blockTokens: job.blockTokens });
  const runs: Array<RunResult & { reference?: RunResult }> = [];
  for (const prompt of job.prompts) {
    const tokens = engine.tokenize(prompt.text);
    const run = await inFreshContext(engine, (seq) => cached.run(seq, tokens, { maxTokens: prompt.maxTokens }));
    const reference = prompt.reference === true
      ? await inFreshContext(engine, (seq) => scratch.run(seq, tokens, { maxTokens: prompt.maxTokens, extraSplits: [run.matchedTokens] }))
      : undefined;
    runs.push({ ...result(run, tokens), ...(reference === undefined ? {} : { reference: result(reference, tokens) }) });
  }
  return { namespace: engine.namespace, namespaceParts: engine.namespaceParts, mode: client.mode, runs };
}

async function inFreshContext(engine: LlamaEngine, fn: (seq: LlamaContextSequence) => Promise<PrefixCacheRun>): Promise<PrefixCacheRun> {
  await using context = await engine.createContext();
  return await fn(context.getSequence());
}

function result({ firstTokenAt: _, ...run }: PrefixCacheRun, tokens: number[]): RunResult {
  return { ...run, tokens };
}

const arg = process.argv[2];
if (arg === undefined) throw new Error("usage: prompt-worker.ts '<job JSON>'");
process.stdout.write(`${JSON.stringify(await main(JSON.parse(arg) as WorkerJob))}\n`);
