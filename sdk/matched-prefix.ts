import { decodeKey, type CacheKey, type EncodedKey } from "../src/keys.js";
import type { MatchedPrefix } from "./types.js";

/**
 * The stored prefix `matched` expressed in the query's own kind: a string for a
 * string query, and for token queries the first n tokens of the query as the
 * same container type (Uint32Array or number[]).
 */
export function matchedPrefixOf<Q extends CacheKey>(query: Q, matched: EncodedKey): MatchedPrefix<Q> {
  if (typeof query === "string") return decodeKey(matched) as MatchedPrefix<Q>;
  const tokens = matched.bytes.length >>> 2;
  if (query instanceof Uint32Array) return query.slice(0, tokens) as MatchedPrefix<Q>;
  return Array.from((query as readonly number[]).slice(0, tokens)) as MatchedPrefix<Q>;
}

/** `data` as a Buffer over the same memory (no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
}
