/**
 * Values stored in the metadata: block descriptors and node records, as JSON.
 * Written values are validated and normalised (holders sorted, duplicates
 * dropped, unknown fields dropped); read values are validated again because
 * anything with access to etcd can write there: a malformed value is an
 * ERR_ETCD error naming the key, never a crash or a half-read object.
 */
import { isBlockId } from "../src/block.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { S3Layout } from "../src/s3-layout.js";
import type { SharedMemoryFile } from "../src/shared-memory-file.js";
import type { BlockDescriptor, NodeInfo } from "./metadata-store.js";

type Problem = string | undefined;

/** Validates and normalises a descriptor a caller wants written; ERR_INVALID_ARGUMENT when malformed. */
export function normalizeDescriptor(value: unknown): BlockDescriptor {
  return toDescriptor(value, (problem) => new KvCacheError(ErrorCode.INVALID_ARGUMENT, `invalid block descriptor: ${problem}`));
}

export function encodeDescriptor(descriptor: BlockDescriptor): Buffer {
  const d = normalizeDescriptor(descriptor);
  return Buffer.from(JSON.stringify({ blockId: d.blockId, size: d.size, checksum: d.checksum, holders: d.holders, s3: d.s3, createdAt: d.createdAt }), "utf8");
}

/**
 * Parses a stored descriptor; ERR_ETCD naming `where` (the etcd key) when
 * malformed. `where` may be a function: every lookup decodes a descriptor, and
 * only a malformed one needs the key's printable form.
 */
export function decodeDescriptor(bytes: Uint8Array, where: string | (() => string)): BlockDescriptor {
  const malformed = (problem: string): KvCacheError => {
    const key = typeof where === "function" ? where() : where;
    return new KvCacheError(ErrorCode.ETCD, `malformed block descriptor at ${key}: ${problem}`, { retryable: false, details: { key } });
  };
  return toDescriptor(parseJson(bytes, malformed), malformed);
}

function toDescriptor(value: unknown, fail: (problem: string) => KvCacheError): BlockDescriptor {
  const problem = descriptorProblem(value);
  if (problem !== undefined) throw fail(problem);
  const d = value as BlockDescriptor;
  const holders = Object.freeze([...new Set(d.holders)].sort());
  return Object.freeze({ blockId: d.blockId, size: d.size, checksum: d.checksum, holders, s3: d.s3, createdAt: d.createdAt });
}

function descriptorProblem(value: unknown): Problem {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "not an object";
  const d = value as Record<string, unknown>;
  if (!isBlockId(d.blockId)) return "blockId must be 32 lowercase hex characters";
  if (!Number.isSafeInteger(d.size) || (d.size as number) < 0) return "size must be a non-negative integer";
  if (!Number.isInteger(d.checksum) || (d.checksum as number) < 0 || (d.checksum as number) > 0xffff_ffff) return "checksum must be an unsigned 32-bit integer";
  if (!Array.isArray(d.holders) || !d.holders.every((h) => typeof h === "string" && h.length > 0)) return "holders must be an array of non-empty strings";
  if (typeof d.s3 !== "boolean") return "s3 must be a boolean";
  if (typeof d.createdAt !== "number" || !Number.isFinite(d.createdAt) || d.createdAt < 0) return "createdAt must be a non-negative number";
  return undefined;
}

/** Validates a node record a caller wants registered; ERR_INVALID_ARGUMENT when malformed. */
export function normalizeNodeInfo(value: unknown): NodeInfo {
  return toNodeInfo(value, (problem) => new KvCacheError(ErrorCode.INVALID_ARGUMENT, `invalid node info: ${problem}`));
}

export function encodeNodeInfo(node: NodeInfo): Buffer {
  return Buffer.from(JSON.stringify(normalizeNodeInfo(node)), "utf8");
}

/** Parses a stored node record; ERR_ETCD naming `where` when malformed. */
export function decodeNodeInfo(bytes: Uint8Array, where: string): NodeInfo {
  const malformed = (problem: string): KvCacheError =>
    new KvCacheError(ErrorCode.ETCD, `malformed node record at ${where}: ${problem}`, { retryable: false, details: { key: where } });
  return toNodeInfo(parseJson(bytes, malformed), malformed);
}

function toNodeInfo(value: unknown, fail: (problem: string) => KvCacheError): NodeInfo {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw fail("not an object");
  const n = value as Record<string, unknown>;
  if (typeof n.nodeId !== "string" || n.nodeId.length === 0) throw fail("nodeId must be a non-empty string");
  if (typeof n.address !== "string") throw fail("address must be a string");
  if (typeof n.adminAddress !== "string") throw fail("adminAddress must be a string");
  if (typeof n.startedAt !== "number" || !Number.isFinite(n.startedAt)) throw fail("startedAt must be a number");
  if (n.adminTls !== undefined && typeof n.adminTls !== "boolean") throw fail("adminTls must be a boolean");
  return Object.freeze({
    nodeId: n.nodeId, address: n.address, adminAddress: n.adminAddress, startedAt: n.startedAt,
    ...(n.adminTls === true ? { adminTls: true } : {}),
    ...(n.s3 === undefined ? {} : { s3: toS3Layout(n.s3, fail) }),
    ...(n.sharedMemory === undefined ? {} : { sharedMemory: toSharedMemoryFile(n.sharedMemory, fail) }),
  });
}

function toSharedMemoryFile(value: unknown, fail: (problem: string) => KvCacheError): SharedMemoryFile {
  const f = value as Record<string, unknown> | null;
  if (f === null || typeof f !== "object" || Array.isArray(f)) throw fail("sharedMemory must be an object");
  if (typeof f.path !== "string" || !f.path.startsWith("/")) throw fail("sharedMemory.path must be an absolute path");
  if (typeof f.token !== "string" || !/^[0-9a-f]{32}$/.test(f.token)) throw fail("sharedMemory.token must be 32 hex characters");
  return Object.freeze({ path: f.path, token: f.token });
}

function toS3Layout(value: unknown, fail: (problem: string) => KvCacheError): S3Layout {
  const l = value as Record<string, unknown> | null;
  if (l === null || typeof l !== "object" || Array.isArray(l)) throw fail("s3 must be an object");
  for (const field of ["bucket", "prefix", "namespace"] as const) if (typeof l[field] !== "string") throw fail(`s3.${field} must be a string`);
  if (l.bucket === "" || l.namespace === "") throw fail("s3.bucket and s3.namespace must not be empty");
  return Object.freeze({ bucket: l.bucket as string, prefix: l.prefix as string, namespace: l.namespace as string });
}

function parseJson(bytes: Uint8Array, fail: (problem: string) => KvCacheError): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("utf8"));
  } catch (err) {
    const e = fail(`not JSON (${(err as Error).message})`);
    throw new KvCacheError(e.code, e.message, { cause: err, retryable: false, details: e.details });
  }
}

/** True when two descriptors are the same value (after normalisation). */
export function sameDescriptor(a: BlockDescriptor, b: BlockDescriptor): boolean {
  return encodeDescriptor(a).equals(encodeDescriptor(b));
}
