/**
 * Argument checks shared by both metadata stores, so they reject exactly the
 * same input with the same codes.
 */
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { describeType, type EncodedKey } from "../src/keys.js";

/** Largest namespace, in UTF-8 bytes (the config schema's limit too). */
export const MAX_NAMESPACE_BYTES = 256;

/**
 * Largest stored key, in encoded bytes. etcd refuses requests over 1.5 MiB
 * (--max-request-bytes) and an insert-if-absent transaction carries its key
 * three times (compare, put, read-back), so keys are capped well below a third
 * of that. Both stores apply the same cap so their semantics stay identical.
 */
export const MAX_METADATA_KEY_BYTES = 384 * 1024;

/** Throws ERR_INVALID_ARGUMENT unless `namespace` is a non-empty, well-formed string of at most 256 UTF-8 bytes. */
export function assertNamespace(namespace: unknown): asserts namespace is string {
  assertName(namespace, "namespace");
}

/** Same rule as namespaces, for node ids. */
export function assertNodeId(nodeId: unknown): asserts nodeId is string {
  assertName(nodeId, "node id");
}

function assertName(value: unknown, what: string): void {
  if (typeof value !== "string" || value.length === 0 || !value.isWellFormed() || Buffer.byteLength(value) > MAX_NAMESPACE_BYTES) {
    const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : describeType(value);
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `${what} must be a non-empty string of at most ${MAX_NAMESPACE_BYTES} UTF-8 bytes; got ${shown}`);
  }
}

/**
 * Throws unless `key` is an encoded key a store can hold: ERR_INVALID_KEY (not an
 * EncodedKey, or token bytes not a multiple of 4), ERR_KEY_EMPTY, ERR_KEY_TOO_LARGE.
 * Keys normally come from encodeKey, which already enforces limits.maxKeyBytes.
 */
export function assertStoredKey(key: unknown): asserts key is EncodedKey {
  assertQueryKey(key);
  if (key.bytes.length > MAX_METADATA_KEY_BYTES) {
    throw new KvCacheError(ErrorCode.KEY_TOO_LARGE, `key is ${key.bytes.length} bytes encoded; the metadata store holds keys of at most ${MAX_METADATA_KEY_BYTES}`, {
      details: { size: key.bytes.length, limit: MAX_METADATA_KEY_BYTES },
    });
  }
}

/**
 * Like {@link assertStoredKey} without the size cap: a lookup query may be longer
 * than any stored key (stores search only its first MAX_METADATA_KEY_BYTES).
 */
export function assertQueryKey(key: unknown): asserts key is EncodedKey {
  const k = key as EncodedKey | null | undefined;
  if (k == null || (k.kind !== "str" && k.kind !== "tok") || !(k.bytes instanceof Uint8Array)) {
    throw new KvCacheError(ErrorCode.INVALID_KEY, `expected an encoded key ({ kind, bytes }); got ${describeType(key)}`);
  }
  if (k.bytes.length === 0) throw new KvCacheError(ErrorCode.KEY_EMPTY, "key is empty");
  if (k.kind === "tok" && k.bytes.length % 4 !== 0) {
    throw new KvCacheError(ErrorCode.INVALID_KEY, `token key bytes must be a multiple of 4; got ${k.bytes.length}`);
  }
}

/** Throws ERR_INVALID_ARGUMENT unless `revision` looks like a revision a store hands out (a positive decimal integer). */
export function assertRevision(revision: unknown): asserts revision is string {
  if (typeof revision !== "string" || !/^[1-9][0-9]{0,18}$/.test(revision)) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `revision must be a positive decimal string; got ${typeof revision === "string" ? JSON.stringify(revision.slice(0, 40)) : describeType(revision)}`);
  }
}

/** Throws ERR_INVALID_ARGUMENT unless `ttlSeconds` is an integer of at least 1. */
export function assertTtlSeconds(ttlSeconds: unknown): asserts ttlSeconds is number {
  if (!Number.isSafeInteger(ttlSeconds) || (ttlSeconds as number) < 1) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `lease TTL must be an integer number of seconds >= 1; got ${String(ttlSeconds)}`);
  }
}

/** Throws ERR_INVALID_ARGUMENT unless `pageSize` is undefined or an integer in [1, 10000]. */
export function assertPageSize(pageSize: unknown): void {
  if (pageSize !== undefined && (!Number.isSafeInteger(pageSize) || (pageSize as number) < 1 || (pageSize as number) > 10_000)) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `pageSize must be an integer from 1 to 10000; got ${String(pageSize)}`);
  }
}
