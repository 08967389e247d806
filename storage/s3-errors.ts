import { S3ServiceException } from "@aws-sdk/client-s3";
import { abortError, ErrorCode, isKvCacheError, KvCacheError } from "../src/errors.js";

/** What a failed S3 request was doing, for the mapped error. */
export interface S3ErrorContext {
  /** The tier operation ("get", "put", "list"…). */
  readonly op: string;
  readonly bucket: string;
  readonly key?: string;
  /** The caller's signal: when it fired, the failure is an abort, not an S3 error. */
  readonly caller?: AbortSignal | undefined;
  /** The per-request deadline: when it fired, the failure is a timeout. */
  readonly deadline?: AbortSignal | undefined;
}

/** Service error names that mean "slow down / try again", whatever the status. */
const THROTTLING = new Set(["SlowDown", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded", "RequestTimeout"]);

/** Transport failures (no S3 answer at all): worth retrying. */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED", "EHOSTUNREACH", "ENETUNREACH", "ERR_STREAM_PREMATURE_CLOSE"]);

/**
 * True when S3 answered "no such object". A missing bucket is a real error (it
 * also answers 404 on GET), so only the object-level answers count; HEAD has no
 * body, so its 404 arrives as a bare `NotFound`.
 */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  if (err.name === "NoSuchKey" || err.name === "NotFound") return true;
  return err.$metadata.httpStatusCode === 404 && err.name !== "NoSuchBucket";
}

/**
 * The one place foreign errors of the S3 tier become {@link KvCacheError}s:
 * ERR_ABORTED when the caller aborted, ERR_TIMEOUT when the request deadline
 * passed, else ERR_S3 — retryable for 5xx, throttling and network failures —
 * with the original error as `cause`.
 */
export function toS3Error(err: unknown, ctx: S3ErrorContext): KvCacheError {
  if (isKvCacheError(err)) return err;
  if (ctx.caller?.aborted) return abortError(ctx.caller);
  const details = { op: ctx.op, bucket: ctx.bucket, key: ctx.key, ...serviceDetails(err) };
  if (ctx.deadline?.aborted) {
    return new KvCacheError(ErrorCode.TIMEOUT, `S3 ${ctx.op} timed out`, { cause: err, details });
  }
  const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new KvCacheError(ErrorCode.S3, `S3 ${ctx.op} failed: ${reason}`, { cause: err, retryable: isRetryable(err), details });
}

function isRetryable(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode ?? 0;
    return status >= 500 || status === 429 || THROTTLING.has(err.name) || err.$retryable !== undefined;
  }
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && (NETWORK_CODES.has(code) || code.startsWith("UND_ERR_"))) || err.name === "TimeoutError";
}

function serviceDetails(err: unknown): Record<string, unknown> {
  if (!(err instanceof S3ServiceException)) return {};
  return { status: err.$metadata.httpStatusCode, s3Code: err.name, requestId: err.$metadata.requestId };
}
