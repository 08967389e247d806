/**
 * Typed errors. Every error this package throws is a {@link KvCacheError} with a
 * stable `code`; callers branch on `code` (never on message text) and may retry
 * when `retryable` is true. Foreign errors are wrapped at each adapter's boundary
 * with the original kept as `cause`.
 */

export const ErrorCode = {
  /** A key was empty (zero bytes or zero tokens). */
  KEY_EMPTY: "ERR_KEY_EMPTY",
  /** A key encodes to more bytes than `limits.maxKeyBytes`. */
  KEY_TOO_LARGE: "ERR_KEY_TOO_LARGE",
  /** A key is not a string / token array, holds an invalid token, or is not well-formed UTF-16. */
  INVALID_KEY: "ERR_INVALID_KEY",
  /** A block is larger than `limits.maxBlockBytes` (or than a tier can ever hold). */
  BLOCK_TOO_LARGE: "ERR_BLOCK_TOO_LARGE",
  /** Block data is not a Buffer, Uint8Array or string. */
  INVALID_DATA: "ERR_INVALID_DATA",
  /** A block does not fit the buffer a load was asked to read it into (tryLoad's `into`). */
  BUFFER_TOO_SMALL: "ERR_BUFFER_TOO_SMALL",
  /** A function argument other than key or data is wrong (type, range). */
  INVALID_ARGUMENT: "ERR_INVALID_ARGUMENT",
  /** Configuration failed schema validation (unknown key, bad value, unreadable file). */
  CONFIG_INVALID: "ERR_CONFIG_INVALID",
  /** Stored bytes do not match their checksum. */
  CHECKSUM_MISMATCH: "ERR_CHECKSUM_MISMATCH",
  /** A local tier (memory or disk) failed: I/O error, no space, permissions. */
  TIER_IO: "ERR_TIER_IO",
  /** The S3 object store failed or refused a request. */
  S3: "ERR_S3",
  /** etcd failed or refused a request. */
  ETCD: "ERR_ETCD",
  /** etcd could not be reached at all. */
  ETCD_UNAVAILABLE: "ERR_ETCD_UNAVAILABLE",
  /** A compare-and-set kept losing to concurrent writers past its retry budget. */
  CONFLICT: "ERR_CONFLICT",
  /** The operation was aborted through its AbortSignal. */
  ABORTED: "ERR_ABORTED",
  /** The operation did not finish within its configured timeout. */
  TIMEOUT: "ERR_TIMEOUT",
  /** The object was used after close(). */
  CLOSED: "ERR_CLOSED",
  /** No live cache node can take the request. */
  NO_NODES: "ERR_NO_NODES",
  /** A peer sent a malformed, truncated or oversized frame. */
  PROTOCOL: "ERR_PROTOCOL",
  /** A data-path request lacked the cluster secret or carried a wrong one. */
  AUTH: "ERR_AUTH",
  /** A cache node answered with an error. */
  NODE: "ERR_NODE",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.TIER_IO,
  ErrorCode.S3,
  ErrorCode.ETCD,
  ErrorCode.ETCD_UNAVAILABLE,
  ErrorCode.CONFLICT,
  ErrorCode.TIMEOUT,
  ErrorCode.NO_NODES,
  ErrorCode.NODE,
]);

export interface KvCacheErrorOptions {
  cause?: unknown;
  /** Overrides the code's default retryability. */
  retryable?: boolean;
  /** Structured details (e.g. `{ key: "s3.bucket" }`), safe to log: never secrets. */
  details?: Readonly<Record<string, unknown>>;
}

/** Base error of the package: a stable `code`, `retryable`, structured `details`, and `cause`. */
export class KvCacheError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: KvCacheErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KvCacheError";
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.details = Object.freeze({ ...(options.details ?? {}) });
  }
}

/** True when `err` is a {@link KvCacheError}, optionally with the given code. */
export function isKvCacheError(err: unknown, code?: ErrorCode): err is KvCacheError {
  return err instanceof KvCacheError && (code === undefined || err.code === code);
}

/** The error to throw when an AbortSignal fired; keeps the signal's reason as cause. */
export function abortError(signal: AbortSignal): KvCacheError {
  return new KvCacheError(ErrorCode.ABORTED, "operation aborted", { cause: signal.reason });
}

/** Throws {@link abortError} when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
