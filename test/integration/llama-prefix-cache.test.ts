/**
 * A real inference engine reusing KV state through the cache. Process A
 * evaluates a prompt and stores its prefix states; process B (another OS
 * process) restores the longest cached state for a longer prompt, and its greedy
 * continuation and next-token probabilities are bit-identical to a from-scratch
 * run split at the same point (flash attention off). Cluster mode runs A and B
 * as processes on etcd + a cache node; embedded mode (its metadata lives in one
 * process) runs them as separate contexts in this process. The model is a tiny
 * random-weight llama GGUF generated here: nothing is downloaded.
 */
import { fileURLToPath } from "node:url";
import type { LlamaContextSequence } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LlamaEngine } from "../../examples/llama/engine.js";
import { ensureModelFile, hashFile, type ModelFile } from "../../examples/llama/model-file.js";
import { stateNamespace } from "../../examples/llama/namespace.js";
import { LlamaPrefixCache, type PrefixCacheRun } from "../../examples/llama/prefix-cache.js";
import type { RunResult, WorkerJob, WorkerResult } from "../../examples/llama/prompt-worker.js";
import { StateFiles } from "../../examples/llama/state-io.js";
import { DatenLordSDK } from "../../sdk/index.js";
import { describeExit, spawnChild } from "../helpers/child.js";
import { cleanupAfterTest, stopAfterTest } from "../helpers/cleanup.js";
import { testConfigOverrides } from "../helpers/env.js";
import { startNodeProcess } from "../helpers/node-process.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const WORKER = fileURLToPath(new URL("../../examples/llama/prompt-worker.ts", import.meta.url));
const BLOCK = 32;
const SENTENCE = "the cache of the model is warm and fast, so the node will load the state from memory. ";
/** ~90 tokens: blocks at 32 and 64, then the tail. */
const PROMPT_A = SENTENCE.repeat(4);
/** PROMPT_A's tokens and then more: the longest cached prefix is A's tail. */
const PROMPT_LONGER = `${PROMPT_A}Then a new question comes, and what was made before is used again.`;
/** Diverges from PROMPT_A in its third sentence: the longest cached prefix is a block boundary. */
const PROMPT_FORK = `${SENTENCE.repeat(2)}this time the prompt goes another way, with other words after it.`;

let dir: string;
let model: ModelFile;
let otherModel: ModelFile;
beforeAll(async () => {
  dir = await makeTempDir("datenlord-llama-");
  // Two models of the same shape: a state of one would load into the other without an error.
  [model, otherModel] = await Promise.all([
    ensureModelFile({ size: "tiny", seed: 1, directory: dir }),
    ensureModelFile({ size: "tiny", seed: 2, directory: dir }),
  ]);
});
afterAll(() => removeDir(dir));

describe("llama.cpp prefix states through the cache, cluster mode (etcd + a cache node)", () => {
  it("process B restores process A's longest cached prefix and continues bit-identically to a from-scratch run", async () => {
    const config = testConfigOverrides();
    stopAfterTest(await startNodeProcess({ configOverrides: config }));
    const cache = { etcd: config.etcd, s3: config.s3 };
    const a = await runWorker({ modelPath: model.path, cache, blockTokens: BLOCK, prompts: [{ text: PROMPT_A, maxTokens: 4 }] });
    const b = await runWorker({
      modelPath: model.path, cache, blockTokens: BLOCK,
      prompts: [{ text: PROMPT_LONGER, maxTokens: 12, reference: true }, { text: PROMPT_FORK, maxTokens: 12, reference: true }],
    });
    expect([a.mode, b.mode]).toEqual(["cluster", "cluster"]);
    const stored = a.runs[0]!;
    expect(stored.matchedTokens).toBe(0);
    expect(stored.stored.map((s) => s.tokens)).toEqual(storedPoints(stored.tokens.length));
    const [longer, fork] = b.runs;
    expect(longer!.matchedTokens).toBe(stored.tokens.length - 1);
    expect(fork!.matchedTokens % BLOCK).toBe(0);
    for (const run of [longer!, fork!]) {
      expect(run.matchedTokens).toBe(expectedMatch(stored, run.tokens));
      expect(run.matchedTokens).toBeGreaterThan(0);
      expectSameAsScratch(run, run.reference!);
    }

    // The same token keys under another model's namespace: never a hit, while this model's namespace hits.
    const otherNamespace = stateNamespace({ ...b.namespaceParts, modelSha256: await hashFile(otherModel.path) });
    const query = Uint32Array.from(longer!.tokens);
    const hitHere = await tryLoad({ ...cache, namespace: b.namespace }, query);
    expect(hitHere?.matchedPrefix.length).toBeGreaterThan(stored.tokens.length);
    expect(await tryLoad({ ...cache, namespace: otherNamespace }, query)).toBeNull();
  }, 240_000);
});

describe("llama.cpp prefix states through the cache, embedded mode (in process)", () => {
  it("a fresh context restores the longest cached prefix and continues bit-identically to a from-scratch run", async () => {
    await using engine = await LlamaEngine.open({ modelPath: model.path });
    await using sdk = new DatenLordSDK({ env: {}, namespace: engine.namespace, disk: { directory: "" } });
    await using client = await sdk.connect();
    await using stateFiles = await StateFiles.create(dir);
    const cached = new LlamaPrefixCache({ client, stateFiles, blockTokens: BLOCK });
    const scratch = new LlamaPrefixCache({ client: null, stateFiles, blockTokens: BLOCK });
    const tokensA = engine.tokenize(PROMPT_A);
    const a = await inContext(engine, (seq) => cached.run(seq, tokensA, { maxTokens: 4 }));
    expect(client.mode).toBe("embedded");
    expect(a.stored.map((s) => s.tokens)).toEqual(storedPoints(tokensA.length));
    for (const text of [PROMPT_LONGER, PROMPT_FORK]) {
      const tokens = engine.tokenize(text);
      const warm = await inContext(engine, (seq) => cached.run(seq, tokens, { maxTokens: 12 }));
      const reference = await inContext(engine, (seq) => scratch.run(seq, tokens, { maxTokens: 12, extraSplits: [warm.matchedTokens] }));
      expect(warm.matchedTokens).toBe(expectedMatch({ tokens: tokensA, stored: a.stored }, tokens));
      expect(warm.matchedTokens).toBeGreaterThan(0);
      expectSameAsScratch(warm, reference);
    }
  }, 120_000);

  it("tokenizes with the generated SPM vocabulary: words become pieces, other text falls back to bytes, all round-trips", async () => {
    await using engine = await LlamaEngine.open({ modelPath: model.path });
    const text = "the model state ü€ 42";
    const tokens = engine.tokenize(text);
    expect(tokens[0]).toBe(engine.model.tokens.bos);
    expect(engine.detokenize(tokens.slice(1))).toBe(text);
    expect(engine.model.tokenize("the model")).toHaveLength(2);
    expect(tokens.length).toBeGreaterThan(1 + 4 + 6);
  });
});

type Stored = Pick<RunResult, "tokens" | "stored">;

/** Block multiples below the last token, then the tail (see evaluation-plan.ts). */
function storedPoints(promptLength: number): number[] {
  const points = Array.from({ length: Math.ceil((promptLength - 1) / BLOCK) - 1 }, (_, i) => (i + 1) * BLOCK);
  return [...points, promptLength - 1];
}

/** Brute force: the longest stored prefix of `tokens` without its last token. */
function expectedMatch(a: Stored, tokens: readonly number[]): number {
  const query = tokens.slice(0, -1);
  const fits = a.stored.map((s) => s.tokens).filter((n) => n <= query.length && a.tokens.slice(0, n).every((t, i) => t === query[i]));
  return Math.max(0, ...fits);
}

function expectSameAsScratch(warm: Omit<PrefixCacheRun, "firstTokenAt">, scratch: Omit<PrefixCacheRun, "firstTokenAt">): void {
  expect(scratch.matchedTokens).toBe(0);
  expect(warm.generated).toHaveLength(12);
  expect(warm.generated).toEqual(scratch.generated);
  expect(warm.confidences).toEqual(scratch.confidences);
  // The whole next-token distribution, bit for bit (toEqual on numbers is exact), and a real one.
  expect(warm.firstProbabilities).toEqual(scratch.firstProbabilities);
  expect(warm.firstProbabilities.length).toBeGreaterThan(256);
  expect(warm.firstProbabilities.reduce((sum, [, p]) => sum + p, 0)).toBeCloseTo(1, 3);
}

async function inContext(engine: LlamaEngine, fn: (seq: LlamaContextSequence) => Promise<PrefixCacheRun>): Promise<PrefixCacheRun> {
  await using context = await engine.createContext();
  return await fn(context.getSequence());
}

async function tryLoad(options: Parameters<typeof testConfigOverrides>[0] & { namespace: string }, query: Uint32Array) {
  await using sdk = new DatenLordSDK({ env: {}, options });
  await using client = await sdk.connect();
  return client.tryLoad(query);
}

/** Runs the prompt worker as its own OS process and returns its JSON result. */
async function runWorker(job: WorkerJob): Promise<WorkerResult> {
  let stdout = "";
  const child = spawnChild(process.execPath, ["--import", "tsx", WORKER, JSON.stringify(job)], { onStdout: (text) => (stdout += text) });
  cleanupAfterTest(() => child.kill("SIGKILL"));
  const exit = await child.exited;
  if (exit.code !== 0) throw new Error(`prompt worker ${describeExit(exit)}; output:\n${child.outputTail()}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as WorkerResult;
}
