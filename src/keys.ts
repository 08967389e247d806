import { ErrorCode, KvCacheError } from "./errors.js";

/**
 * Cache keys. A key is a UTF-8 string or a sequence of token ids. Both encode to
 * bytes whose byte prefixes are exactly the key's prefixes: strings as UTF-8
 * (well-formed only, so every code point has one encoding), tokens as 4 bytes
 * big-endian each. The two kinds live in separate key spaces and never match.
 */
export type TokenKey = Uint32Array | readonly number[];
export type CacheKey = string | TokenKey;

export type KeyKind = "str" | "tok";

/** A key as stored and compared: its kind plus its encoded bytes. */
export interface EncodedKey {
  readonly kind: KeyKind;
  readonly bytes: Uint8Array;
}

const MAX_TOKEN = 0xffff_ffff;

/**
 * Encodes and validates a key. Throws ERR_KEY_EMPTY, ERR_KEY_TOO_LARGE (over
 * `maxKeyBytes` encoded bytes) or ERR_INVALID_KEY (wrong type, token not an
 * integer in [0, 2^32), string with lone surrogates).
 */
export function encodeKey(key: unknown, maxKeyBytes: number): EncodedKey {
  const encoded = typeof key === "string" ? encodeString(key) : encodeTokens(key);
  if (encoded.bytes.length === 0) {
    throw new KvCacheError(ErrorCode.KEY_EMPTY, "key is empty");
  }
  if (encoded.bytes.length > maxKeyBytes) {
    throw new KvCacheError(
      ErrorCode.KEY_TOO_LARGE,
      `key is ${encoded.bytes.length} bytes encoded; the limit (limits.maxKeyBytes) is ${maxKeyBytes}`,
      { details: { size: encoded.bytes.length, limit: maxKeyBytes } },
    );
  }
  return encoded;
}

function encodeString(key: string): EncodedKey {
  if (!key.isWellFormed()) {
    throw new KvCacheError(ErrorCode.INVALID_KEY, "string key contains a lone surrogate (not well-formed UTF-16)");
  }
  return { kind: "str", bytes: Buffer.from(key, "utf8") };
}

function encodeTokens(key: unknown): EncodedKey {
  if (!(key instanceof Uint32Array) && !Array.isArray(key)) {
    throw new KvCacheError(
      ErrorCode.INVALID_KEY,
      `key must be a string, Uint32Array or number[]; got ${describeType(key)}`,
    );
  }
  const tokens = key as ArrayLike<unknown>;
  const bytes = Buffer.allocUnsafe(tokens.length * 4);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t > MAX_TOKEN) {
      throw new KvCacheError(ErrorCode.INVALID_KEY, `token at index ${i} is not an integer in [0, 2^32): ${String(t)}`);
    }
    bytes.writeUInt32BE(t, i * 4);
  }
  return { kind: "tok", bytes };
}

/** Decodes stored bytes back to the caller's kind of key: a string, or a Uint32Array of token ids. */
export function decodeKey(encoded: EncodedKey): string | Uint32Array {
  if (encoded.kind === "str") return Buffer.from(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.length).toString("utf8");
  const n = encoded.bytes.length >>> 2;
  const view = new DataView(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.length);
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, false);
  return out;
}

/** A short, human-readable type name for error messages. */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  return typeof value;
}
