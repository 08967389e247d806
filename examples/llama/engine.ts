/**
 * A CPU llama.cpp engine for the prefix-cache example: the prebuilt binding
 * (never built, never downloaded), one model file, and contexts created with
 * fixed state-shaping settings, so every state it saves fits the namespace it
 * reports.
 */
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel, type Token } from "node-llama-cpp";
import { hashFile } from "./model-file.js";
import { stateNamespace, type NamespaceParts, type StateSettings } from "./namespace.js";

export interface EngineOptions {
  readonly modelPath: string;
  /** Largest prompt + generated tokens of one run (default 2048). */
  readonly contextSize?: number;
  /** Evaluation threads (default 1: steady timings on a shared machine, and no spinning threads). */
  readonly threads?: number;
  /** Default: flash attention off (bit-identical restores), F16 KV cache, one sequence. */
  readonly state?: Partial<StateSettings>;
}

const DEFAULT_STATE: StateSettings = { flashAttention: false, kvCacheKeyType: "F16", kvCacheValueType: "F16", sequences: 1 };

export class LlamaEngine implements AsyncDisposable {
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly modelSha256: string;
  readonly settings: StateSettings;
  /** What the namespace is made of. */
  readonly namespaceParts: NamespaceParts;
  /** The cache namespace states of this engine belong in. */
  readonly namespace: string;
  readonly #contextSize: number;
  readonly #threads: number;

  private constructor(llama: Llama, model: LlamaModel, modelSha256: string, options: EngineOptions) {
    this.llama = llama;
    this.model = model;
    this.modelSha256 = modelSha256;
    this.settings = { ...DEFAULT_STATE, ...options.state };
    this.#contextSize = options.contextSize ?? 2048;
    this.#threads = options.threads ?? 1;
    this.namespaceParts = { ...this.settings, modelSha256, llamaCppRelease: llama.llamaCppRelease.release };
    this.namespace = stateNamespace(this.namespaceParts);
  }

  static async open(options: EngineOptions): Promise<LlamaEngine> {
    const [llama, modelSha256] = await Promise.all([
      getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error }),
      hashFile(options.modelPath),
    ]);
    try {
      const model = await llama.loadModel({ modelPath: options.modelPath });
      return new LlamaEngine(llama, model, modelSha256, options);
    } catch (err) {
      await llama.dispose();
      throw err;
    }
  }

  /** The prompt's token ids, BOS first. */
  tokenize(text: string): Token[] {
    const bos = this.model.tokens.bos;
    return [...(bos === null ? [] : [bos]), ...this.model.tokenize(text)];
  }

  detokenize(tokens: readonly Token[]): string {
    return this.model.detokenize(tokens);
  }

  /** A new context with the engine's settings; the caller disposes it. */
  createContext(): Promise<LlamaContext> {
    const s = this.settings;
    return this.model.createContext({
      contextSize: this.#contextSize,
      batchSize: Math.min(512, this.#contextSize),
      sequences: s.sequences,
      threads: this.#threads,
      flashAttention: s.flashAttention,
      experimentalKvCacheKeyType: s.kvCacheKeyType,
      experimentalKvCacheValueType: s.kvCacheValueType,
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.llama.dispose();
  }
}
