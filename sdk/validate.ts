import { toBlockBytes } from "../src/block.js";
import { ErrorCode, KvCacheError, isKvCacheError } from "../src/errors.js";
import { describeType, encodeKey, type EncodedKey } from "../src/keys.js";
import type { LimitsConfig } from "../src/config.js";
import type { InsertItem } from "./types.js";

/**
 * Caller input, checked before anything is sent or written: bad input always
 * throws a typed error naming the problem (invariant 5), whatever the mode.
 */

export function validKey(key: unknown, limits: LimitsConfig): EncodedKey {
  return encodeKey(key, limits.maxKeyBytes);
}

/**
 * A lookup query. Unlike a key it may be longer than `limits.maxKeyBytes` (a
 * prompt usually is): no stored key is longer than that, so the longest stored
 * prefix of the query is the longest stored prefix of its first maxKeyBytes
 * bytes (whole tokens), and only those are looked up.
 */
export function validQuery(query: unknown, limits: LimitsConfig): EncodedKey {
  const key = encodeKey(query, Number.MAX_SAFE_INTEGER);
  if (key.bytes.length <= limits.maxKeyBytes) return key;
  return { kind: key.kind, bytes: key.bytes.subarray(0, cutPoint(key, limits.maxKeyBytes)) };
}

/** The longest whole-token (or whole-character: stored strings are UTF-8) length of at most `max` bytes. */
function cutPoint(key: EncodedKey, max: number): number {
  if (key.kind === "tok") return max - (max % 4);
  let end = max;
  while (end > 0 && (key.bytes[end]! & 0xc0) === 0x80) end--;
  return end;
}

export function validData(data: unknown, limits: LimitsConfig): Uint8Array {
  return toBlockBytes(data, limits.maxBlockBytes);
}

/** `options.overwrite` as a boolean; options must be undefined or an object. */
export function validOverwrite(options: unknown): boolean {
  if (options === undefined) return false;
  if (options === null || typeof options !== "object") {
    throw invalid(`insert options must be an object; got ${describeType(options)}`);
  }
  const overwrite = (options as { overwrite?: unknown }).overwrite;
  if (overwrite !== undefined && typeof overwrite !== "boolean") {
    throw invalid(`options.overwrite must be a boolean; got ${describeType(overwrite)}`);
  }
  return overwrite ?? false;
}

/** `options.into` of tryLoad: undefined, or a Uint8Array (a Buffer is one). */
export function validInto(options: unknown): Uint8Array | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") throw invalid(`tryLoad options must be an object; got ${describeType(options)}`);
  const into = (options as { into?: unknown }).into;
  if (into !== undefined && !(into instanceof Uint8Array)) throw invalid(`options.into must be a Buffer or Uint8Array; got ${describeType(into)}`);
  return into;
}

export function validArray(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(`${what} must be an array; got ${describeType(value)}`);
  return value;
}

export interface ValidInsert {
  readonly key: EncodedKey;
  readonly bytes: Uint8Array;
  readonly overwrite: boolean;
}

export function validItem(item: unknown, limits: LimitsConfig): ValidInsert {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw invalid(`an item must be an object { key, data, overwrite? }; got ${describeType(item)}`);
  }
  const { key, data, overwrite } = item as InsertItem;
  return { key: validKey(key, limits), bytes: validData(data, limits), overwrite: validOverwrite({ overwrite }) };
}

/** Checks every element first, so a bad element at any index stores nothing. */
export function validEach<T>(values: readonly unknown[], op: string, check: (v: unknown) => T): T[] {
  return values.map((v, i) => {
    try {
      return check(v);
    } catch (err) {
      throw atIndex(err, op, i);
    }
  });
}

/** The same error, its message and details naming the batch element. */
export function atIndex(err: unknown, op: string, index: number): unknown {
  if (!isKvCacheError(err)) return err;
  return new KvCacheError(err.code, `${op}: item ${index}: ${err.message}`, {
    cause: err, retryable: err.retryable, details: { ...err.details, index },
  });
}

function invalid(message: string): KvCacheError {
  return new KvCacheError(ErrorCode.INVALID_ARGUMENT, message);
}
