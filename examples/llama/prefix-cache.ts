/**
 * Prompt prefill through the KV cache: find the longest cached prefix of the
 * prompt's token ids, restore its llama.cpp sequence state, evaluate only the
 * rest, and store the states of the new block-aligned prefixes on the way.
 */
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { KvCacheClient } from "../../sdk/index.js";
import { chunks, storePoints, type PlanOptions } from "./evaluation-plan.js";
import { generateGreedy, type Generation } from "./generate.js";
import type { StateFiles } from "./state-io.js";

export interface LlamaPrefixCacheOptions extends Partial<PlanOptions> {
  /** The cache, connected with the engine's namespace; null runs without a cache (a plain cold prefill). */
  readonly client: KvCacheClient | null;
  readonly stateFiles: StateFiles;
}

export interface RunOptions {
  /** Tokens to generate after the prompt (greedy). */
  readonly maxTokens: number;
  /** More positions to split evaluation at (a reference run splits where a warm run restored). */
  readonly extraSplits?: readonly number[];
  /** Evaluate the prompt in as few calls as the batch allows (no store points): the plain cold baseline. */
  readonly unsplit?: boolean;
}

export interface PrefixCacheRun extends Generation {
  readonly promptTokens: number;
  /** Tokens restored from the cache (0: a miss). */
  readonly matchedTokens: number;
  readonly restoredBytes: number;
  /** From having the prompt's tokens to having the first generated token, in ms. */
  readonly ttftMs: number;
  readonly lookupMs: number;
  /** The prefix lengths stored by this run, and their state sizes. */
  readonly stored: ReadonlyArray<{ readonly tokens: number; readonly bytes: number }>;
}

interface Restored {
  readonly matched: number;
  readonly bytes: number;
  readonly lookupMs: number;
}

export class LlamaPrefixCache {
  readonly #client: KvCacheClient | null;
  readonly #files: StateFiles;
  readonly #plan: PlanOptions;

  constructor(options: LlamaPrefixCacheOptions) {
    this.#client = options.client;
    this.#files = options.stateFiles;
    this.#plan = { blockTokens: options.blockTokens ?? 64, storeTail: options.storeTail ?? true };
  }

  /** Runs `tokens` (BOS included) on `sequence`, whose previous history is discarded. */
  async run(sequence: LlamaContextSequence, tokens: readonly Token[], options: RunOptions): Promise<PrefixCacheRun> {
    if (tokens.length < 1) throw new RangeError("the prompt needs at least one token");
    const started = performance.now();
    await sequence.clearHistory();
    const restored = await this.#restore(sequence, tokens);
    const points = options.unsplit === true ? [] : storePoints(tokens.length, this.#plan);
    const splits = [...points, restored.matched, ...(options.extraSplits ?? [])];
    const parts = chunks(restored.matched, tokens.length, splits);
    const last = parts.pop()!;
    const stores: Array<Promise<{ tokens: number; bytes: number }>> = [];
    for (const [start, end] of parts) {
      await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(start, end));
      // The state must be saved before the next chunk; only the insert runs in the background.
      if (this.#client !== null && points.includes(end)) stores.push(settleLater(this.#insert(tokens.slice(0, end), await this.#files.save(sequence))));
    }
    const generation = await generateGreedy(sequence, tokens.slice(last[0]), options.maxTokens);
    const stored = await Promise.all(stores);
    return {
      ...generation,
      promptTokens: tokens.length,
      matchedTokens: restored.matched,
      restoredBytes: restored.bytes,
      ttftMs: generation.firstTokenAt - started,
      lookupMs: restored.lookupMs,
      stored,
    };
  }

  /** Loads the deepest cached prefix of all but the last token; a state whose tokens differ is not used. */
  async #restore(sequence: LlamaContextSequence, tokens: readonly Token[]): Promise<Restored> {
    const miss = (lookupMs: number): Restored => ({ matched: 0, bytes: 0, lookupMs });
    if (this.#client === null || tokens.length < 2) return miss(0);
    const t0 = performance.now();
    const hit = await this.#client.tryLoad(Uint32Array.from(tokens.slice(0, -1)));
    const lookupMs = performance.now() - t0;
    if (hit === null) return miss(lookupMs);
    const matched = hit.matchedPrefix.length;
    await this.#files.load(sequence, hit.data);
    if (!sameTokens(sequence.contextTokens, tokens.slice(0, matched))) {
      await sequence.clearHistory();
      return miss(lookupMs);
    }
    return { matched, bytes: hit.data.length, lookupMs };
  }

  /** Stores the state of exactly `prefix` under its token ids (an existing key is left as it is). */
  async #insert(prefix: readonly Token[], bytes: Buffer): Promise<{ tokens: number; bytes: number }> {
    await this.#client!.insert(Uint32Array.from(prefix), bytes);
    return { tokens: prefix.length, bytes: bytes.length };
  }
}

/** Marks `p` handled now (it is awaited later): an insert failing mid-prefill must not crash the process. */
function settleLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

function sameTokens(a: readonly Token[], b: readonly Token[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}
