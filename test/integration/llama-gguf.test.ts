/**
 * The generated model file: a GGUF v3 file that node-llama-cpp's own parser
 * reads back with llama's metadata and tensors, byte-for-byte reproducible from
 * its seed; plus the pure parts of the prefix-cache example (float16, the
 * evaluation plan, the namespace).
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { readGgufFileInfo } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunks, storePoints } from "../../examples/llama/evaluation-plan.js";
import { toFloat16Bits } from "../../examples/llama/gguf/float16.js";
import { MODEL_SIZES } from "../../examples/llama/gguf/random-llama.js";
import { buildSpmVocab } from "../../examples/llama/gguf/spm-vocab.js";
import { ensureModelFile, hashFile, type ModelFile } from "../../examples/llama/model-file.js";
import { stateNamespace } from "../../examples/llama/namespace.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

let dir: string;
let tiny: ModelFile;
beforeAll(async () => {
  dir = await makeTempDir("datenlord-gguf-");
  tiny = await ensureModelFile({ size: "tiny", seed: 7, directory: dir });
});
afterAll(() => removeDir(dir));

describe("generated llama GGUF", () => {
  it("parses back as GGUF v3 with llama's hyperparameters and an SPM vocabulary with byte tokens", async () => {
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false });
    const shape = MODEL_SIZES.tiny;
    const vocab = buildSpmVocab();
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe("llama");
    expect(info.architectureMetadata).toMatchObject({
      context_length: shape.contextLength, embedding_length: shape.embedding, block_count: shape.layers,
      feed_forward_length: shape.feedForward, rope: { dimension_count: shape.embedding / shape.heads },
      attention: { head_count: shape.heads, head_count_kv: shape.kvHeads },
    });
    const tokenizer = info.metadata.tokenizer.ggml;
    expect(tokenizer.model).toBe("llama");
    expect(tokenizer.tokens).toEqual(vocab.tokens);
    expect(tokenizer.tokens.slice(3, 5)).toEqual(["<0x00>", "<0x01>"]);
    expect(tokenizer.tokens[258]).toBe("<0xFF>");
    expect(tokenizer.token_type?.length).toBe(vocab.tokens.length);
    expect([tokenizer.bos_token_id, tokenizer.eos_token_id]).toEqual([1, 2]);
  });

  it("holds every llama tensor with its ggml shape, data 32-byte aligned, and nothing after the last one", async () => {
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false });
    const s = MODEL_SIZES.tiny;
    const nVocab = buildSpmVocab().tokens.length;
    const kv = (s.embedding / s.heads) * s.kvHeads;
    const shapes = new Map((info.tensorInfo ?? []).map((t) => [t.name, t.dimensions.map(Number)]));
    expect(shapes.size).toBe(3 + 9 * s.layers);
    expect(shapes.get("token_embd.weight")).toEqual([s.embedding, nVocab]);
    expect(shapes.get("output.weight")).toEqual([s.embedding, nVocab]);
    expect(shapes.get("output_norm.weight")).toEqual([s.embedding]);
    expect(shapes.get("blk.1.attn_k.weight")).toEqual([s.embedding, kv]);
    expect(shapes.get("blk.1.attn_output.weight")).toEqual([s.embedding, s.embedding]);
    expect(shapes.get("blk.1.ffn_down.weight")).toEqual([s.feedForward, s.embedding]);
    expect(shapes.get("blk.1.ffn_gate.weight")).toEqual([s.embedding, s.feedForward]);
    const last = info.tensorInfo!.at(-1)!;
    for (const t of info.tensorInfo!) expect(Number(t.fileOffset) % 32, t.name).toBe(0);
    const lastBytes = last.dimensions.map(Number).reduce((a, b) => a * b, 4);
    expect((await stat(tiny.path)).size).toBe(Math.ceil((Number(last.fileOffset) + lastBytes) / 32) * 32);
  });

  it("is the same bytes for the same seed and different bytes for another seed", async () => {
    const again = await ensureModelFile({ size: "tiny", seed: 7, directory: join(dir, "again") });
    const other = await ensureModelFile({ size: "tiny", seed: 8, directory: dir });
    expect(await hashFile(again.path)).toBe(await hashFile(tiny.path));
    expect(await hashFile(other.path)).not.toBe(await hashFile(tiny.path));
    expect(other.sizeBytes).toBe(tiny.sizeBytes);
  });
});

describe("float16", () => {
  it("converts with round-to-nearest-even, subnormals, overflow and NaN", () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00],
      [1e6, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -26, 0x0000], [6.1e-5, 0x03ff], [1 + 2 ** -11, 0x3c00],
    ];
    for (const [value, bits] of cases) expect(toFloat16Bits(value), String(value)).toBe(bits);
    expect(toFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
    expect(toFloat16Bits(Number.NaN) & 0x03ff).not.toBe(0);
  });
});

describe("evaluation plan", () => {
  it("stores block multiples below the last token and the tail", () => {
    expect(storePoints(200, { blockTokens: 64, storeTail: true })).toEqual([64, 128, 192, 199]);
    expect(storePoints(129, { blockTokens: 64, storeTail: true })).toEqual([64, 128]);
    expect(storePoints(128, { blockTokens: 64, storeTail: false })).toEqual([64]);
    expect(storePoints(1, { blockTokens: 64, storeTail: true })).toEqual([]);
    expect(() => storePoints(10, { blockTokens: 0, storeTail: true })).toThrow(RangeError);
  });

  it("splits [from, to) at the points strictly inside it", () => {
    expect(chunks(0, 200, [64, 128, 192, 199, 64, 0, 200])).toEqual([[0, 64], [64, 128], [128, 192], [192, 199], [199, 200]]);
    expect(chunks(199, 230, [64, 199, 224])).toEqual([[199, 224], [224, 230]]);
    expect(chunks(5, 6, [])).toEqual([[5, 6]]);
  });
});

describe("state namespace", () => {
  const base = { modelSha256: "a".repeat(64), llamaCppRelease: "b1", flashAttention: false, kvCacheKeyType: "F16", kvCacheValueType: "F16", sequences: 1 } as const;

  it("differs for another model, flash attention, KV cache type, sequence count or llama.cpp release", () => {
    const variants = [
      base, { ...base, modelSha256: "b".repeat(64) }, { ...base, flashAttention: true }, { ...base, kvCacheKeyType: "F32" as const },
      { ...base, kvCacheValueType: "Q8_0" as const }, { ...base, sequences: 2 }, { ...base, llamaCppRelease: "b2" },
    ];
    const names = variants.map(stateNamespace);
    expect(new Set(names).size).toBe(variants.length);
    for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(256);
  });

  it("rejects a model hash that is not a SHA-256", () => {
    expect(() => stateNamespace({ ...base, modelSha256: "abc" })).toThrow(TypeError);
  });
});
