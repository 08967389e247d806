/**
 * A GGUF v3 writer: header, metadata key/values, tensor infos, then the tensor
 * data blob, every tensor aligned to `general.alignment` (32 bytes). Tensor data
 * is produced tensor by tensor while writing, so a large model never sits in
 * memory whole. Layout reference: ggml's gguf.h.
 */
import { open } from "node:fs/promises";
import { ByteSink } from "./byte-sink.js";
import { toFloat16Bits } from "./float16.js";

const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** gguf_type codes. */
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9 } as const;

export type ScalarKind = "uint32" | "int32" | "float32" | "bool" | "string";
export type MetadataValue =
  | { readonly kind: "uint32" | "int32" | "float32"; readonly value: number }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "array"; readonly of: "int32" | "float32"; readonly values: readonly number[] }
  | { readonly kind: "array"; readonly of: "string"; readonly values: readonly string[] };

export const u32 = (value: number): MetadataValue => ({ kind: "uint32", value });
export const f32 = (value: number): MetadataValue => ({ kind: "float32", value });
export const bool = (value: boolean): MetadataValue => ({ kind: "bool", value });
export const str = (value: string): MetadataValue => ({ kind: "string", value });
export const strings = (values: readonly string[]): MetadataValue => ({ kind: "array", of: "string", values });
export const f32s = (values: readonly number[]): MetadataValue => ({ kind: "array", of: "float32", values });
export const i32s = (values: readonly number[]): MetadataValue => ({ kind: "array", of: "int32", values });

/** ggml_type of a tensor's elements. */
export type TensorType = "F32" | "F16";
const GGML_TYPE: Record<TensorType, number> = { F32: 0, F16: 1 };
const ELEMENT_BYTES: Record<TensorType, number> = { F32: 4, F16: 2 };

export interface TensorSpec {
  readonly name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  readonly dims: readonly number[];
  readonly type: TensorType;
  /** Fills the tensor's elements in memory order (called once, while writing). */
  readonly fill: (out: Float32Array) => void;
}

export interface GgufContents {
  readonly metadata: ReadonlyMap<string, MetadataValue>;
  readonly tensors: readonly TensorSpec[];
}

/** Writes a GGUF v3 file at `path` (replacing it) and returns its size in bytes. */
export async function writeGguf(path: string, contents: GgufContents): Promise<number> {
  const header = encodeHeader(contents);
  const file = await open(path, "w");
  try {
    let position = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      await file.write(bytes, 0, bytes.length, position);
      position += bytes.length;
    };
    await write(header);
    for (const tensor of contents.tensors) await write(encodeTensorData(tensor));
    return position;
  } finally {
    await file.close();
  }
}

function encodeHeader({ metadata, tensors }: GgufContents): Buffer {
  const out = new ByteSink();
  out.bytes(Buffer.from("GGUF", "ascii")).u32(GGUF_VERSION).u64(tensors.length).u64(metadata.size);
  for (const [key, value] of metadata) encodeValue(out.str(key), value);
  let offset = 0;
  for (const tensor of tensors) {
    out.str(tensor.name).u32(tensor.dims.length);
    for (const d of tensor.dims) out.u64(d);
    out.u32(GGML_TYPE[tensor.type]).u64(offset);
    offset += alignUp(tensorBytes(tensor), GGUF_ALIGNMENT);
  }
  return Buffer.from(out.pad(GGUF_ALIGNMENT).view());
}

function encodeValue(out: ByteSink, v: MetadataValue): void {
  if (v.kind !== "array") {
    encodeScalar(out.u32(T[scalarCode(v.kind)]), v.kind, v.value);
    return;
  }
  out.u32(T.ARRAY).u32(T[scalarCode(v.of)]).u64(v.values.length);
  for (const item of v.values) encodeScalar(out, v.of, item);
}

function scalarCode(kind: ScalarKind): keyof typeof T {
  return kind === "uint32" ? "UINT32" : kind === "int32" ? "INT32" : kind === "float32" ? "FLOAT32" : kind === "bool" ? "BOOL" : "STRING";
}

function encodeScalar(out: ByteSink, kind: ScalarKind, value: number | boolean | string): void {
  if (kind === "string") out.str(value as string);
  else if (kind === "bool") out.u8(value ? 1 : 0);
  else if (kind === "float32") out.f32(value as number);
  else if (kind === "int32") out.i32(value as number);
  else out.u32(value as number);
}

function tensorBytes(tensor: TensorSpec): number {
  return elementCount(tensor) * ELEMENT_BYTES[tensor.type];
}

function elementCount(tensor: TensorSpec): number {
  return tensor.dims.reduce((a, b) => a * b, 1);
}

function encodeTensorData(tensor: TensorSpec): Buffer {
  const values = new Float32Array(elementCount(tensor));
  tensor.fill(values);
  const out = Buffer.alloc(alignUp(tensorBytes(tensor), GGUF_ALIGNMENT));
  if (tensor.type === "F32") {
    Buffer.from(values.buffer, values.byteOffset, values.byteLength).copy(out);
  } else {
    for (let i = 0; i < values.length; i++) out.writeUInt16LE(toFloat16Bits(values[i]!), i * 2);
  }
  return out;
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
