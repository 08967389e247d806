/**
 * A llama-architecture model with random weights, as llama.cpp's llama loader
 * expects it: the `llama.*` hyperparameters, an SPM tokenizer, and the tensors
 * token_embd, blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,
 * ffn_gate,ffn_up,ffn_down}, output_norm, output. Weights are deterministic in
 * the seed; their scale keeps activations finite, and the output rows of
 * byte-fallback and control tokens are damped so greedy text reads as words.
 */
import { bool, f32, f32s, i32s, str, strings, u32, type GgufContents, type MetadataValue, type TensorSpec, type TensorType } from "./gguf-writer.js";
import { Prng } from "./prng.js";
import { buildSpmVocab, type SpmVocab } from "./spm-vocab.js";

export interface LlamaShape {
  readonly embedding: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly feedForward: number;
  /** Trained context length (llama.context_length): the largest context to create. */
  readonly contextLength: number;
  /** Type of the 2-D weight matrices (norms are always F32). */
  readonly weightType: TensorType;
}

/** Presets: "tiny" for tests (~1 MB), "small" for the example (~15 MB), "medium" for benchmarks (~55 MB). */
export const MODEL_SIZES = {
  tiny: { embedding: 64, layers: 2, heads: 4, kvHeads: 2, feedForward: 192, contextLength: 4096, weightType: "F32" },
  small: { embedding: 256, layers: 4, heads: 8, kvHeads: 4, feedForward: 768, contextLength: 4096, weightType: "F32" },
  medium: { embedding: 512, layers: 8, heads: 8, kvHeads: 4, feedForward: 1536, contextLength: 4096, weightType: "F16" },
} as const satisfies Record<string, LlamaShape>;
export type ModelSize = keyof typeof MODEL_SIZES;

export function isModelSize(name: string): name is ModelSize {
  return Object.hasOwn(MODEL_SIZES, name);
}

/** Everything writeGguf needs for a random llama model of `shape`, seeded by `seed`. */
export function randomLlama(shape: LlamaShape, seed: number, name: string): GgufContents {
  const vocab = buildSpmVocab();
  return { metadata: llamaMetadata(shape, vocab, name), tensors: llamaTensors(shape, vocab, seed) };
}

function llamaMetadata(s: LlamaShape, vocab: SpmVocab, name: string): Map<string, MetadataValue> {
  return new Map<string, MetadataValue>([
    ["general.architecture", str("llama")],
    ["general.name", str(name)],
    ["general.alignment", u32(32)],
    ["general.file_type", u32(s.weightType === "F32" ? 0 : 1)],
    ["llama.vocab_size", u32(vocab.tokens.length)],
    ["llama.context_length", u32(s.contextLength)],
    ["llama.embedding_length", u32(s.embedding)],
    ["llama.block_count", u32(s.layers)],
    ["llama.feed_forward_length", u32(s.feedForward)],
    ["llama.attention.head_count", u32(s.heads)],
    ["llama.attention.head_count_kv", u32(s.kvHeads)],
    ["llama.rope.dimension_count", u32(s.embedding / s.heads)],
    ["llama.rope.freq_base", f32(10000)],
    ["llama.attention.layer_norm_rms_epsilon", f32(1e-5)],
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", strings(vocab.tokens)],
    ["tokenizer.ggml.scores", f32s(vocab.scores)],
    ["tokenizer.ggml.token_type", i32s(vocab.types)],
    ["tokenizer.ggml.bos_token_id", u32(vocab.bosId)],
    ["tokenizer.ggml.eos_token_id", u32(vocab.eosId)],
    ["tokenizer.ggml.unknown_token_id", u32(vocab.unkId)],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
  ]);
}

function llamaTensors(s: LlamaShape, vocab: SpmVocab, seed: number): TensorSpec[] {
  const nVocab = vocab.tokens.length;
  const headDim = s.embedding / s.heads;
  const kvDim = headDim * s.kvHeads;
  const matrix = (name: string, inputs: number, outputs: number): TensorSpec =>
    ({ name, dims: [inputs, outputs], type: s.weightType, fill: uniform(seed, name, 1 / Math.sqrt(inputs)) });
  const norm = (name: string): TensorSpec => ({ name, dims: [s.embedding], type: "F32", fill: (out) => out.fill(1) });
  const tensors: TensorSpec[] = [
    { name: "token_embd.weight", dims: [s.embedding, nVocab], type: s.weightType, fill: uniform(seed, "token_embd.weight", 1) },
  ];
  for (let i = 0; i < s.layers; i++) {
    const blk = `blk.${i}`;
    tensors.push(
      norm(`${blk}.attn_norm.weight`),
      matrix(`${blk}.attn_q.weight`, s.embedding, s.embedding),
      matrix(`${blk}.attn_k.weight`, s.embedding, kvDim),
      matrix(`${blk}.attn_v.weight`, s.embedding, kvDim),
      matrix(`${blk}.attn_output.weight`, s.embedding, s.embedding),
      norm(`${blk}.ffn_norm.weight`),
      matrix(`${blk}.ffn_gate.weight`, s.embedding, s.feedForward),
      matrix(`${blk}.ffn_up.weight`, s.embedding, s.feedForward),
      matrix(`${blk}.ffn_down.weight`, s.feedForward, s.embedding),
    );
  }
  tensors.push(norm("output_norm.weight"), outputTensor(s, vocab, seed));
  return tensors;
}

/** Logit rows: text pieces get a wide spread (a clear argmax), non-text tokens a damped one. */
function outputTensor(s: LlamaShape, vocab: SpmVocab, seed: number): TensorSpec {
  const fill = (out: Float32Array): void => {
    const rng = new Prng(seed, "output.weight");
    const scale = 4 / Math.sqrt(s.embedding);
    for (let row = 0; row < vocab.tokens.length; row++) {
      const gain = vocab.nonTextIds.has(row) ? 0.05 : 1;
      for (let col = 0; col < s.embedding; col++) out[row * s.embedding + col] = rng.uniform(scale) * gain;
    }
  };
  return { name: "output.weight", dims: [s.embedding, vocab.tokens.length], type: s.weightType, fill };
}

function uniform(seed: number, stream: string, scale: number): (out: Float32Array) => void {
  return (out) => {
    const rng = new Prng(seed, stream);
    for (let i = 0; i < out.length; i++) out[i] = rng.uniform(scale);
  };
}

/** Weights in a model of `shape` (the vocabulary is the shared SPM one). */
export function parameterCount(s: LlamaShape): number {
  const nVocab = buildSpmVocab().tokens.length;
  const kvDim = (s.embedding / s.heads) * s.kvHeads;
  const perLayer = 2 * s.embedding + 2 * s.embedding * s.embedding + 2 * s.embedding * kvDim + 3 * s.embedding * s.feedForward;
  return 2 * nVocab * s.embedding + s.embedding + s.layers * perLayer;
}
