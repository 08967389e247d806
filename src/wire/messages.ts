import { ErrorCode, isKvCacheError, KvCacheError } from "../errors.js";
import type { PeerStats } from "../peer.js";
import { protocolError } from "./frames.js";
import { MAX_JSON_BYTES } from "./protocol.js";

/** The JSON body of an ERROR response. */
export interface RemoteError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/** An ERROR body for `err`: its code when it is ours, ERR_NODE otherwise (never a stack). */
export function encodeErrorBody(err: unknown): Buffer {
  const body: RemoteError = isKvCacheError(err)
    ? { code: err.code, message: err.message, retryable: err.retryable }
    : { code: ErrorCode.NODE, message: err instanceof Error ? err.message : String(err), retryable: true };
  return encodeJson({ ...body, message: body.message.slice(0, 4096) });
}

export function decodeErrorBody(body: Buffer): RemoteError {
  const value = decodeJson(body) as Partial<RemoteError> | null;
  if (value === null || typeof value !== "object" || typeof value.code !== "string" || typeof value.message !== "string") {
    throw protocolError("ERROR body is not {code, message}");
  }
  return { code: value.code, message: value.message, retryable: value.retryable !== false };
}

export function decodeStatsBody(body: Buffer): PeerStats {
  const value = decodeJson(body) as Partial<PeerStats> | null;
  if (value === null || typeof value !== "object" || typeof value.nodeId !== "string" || typeof value.tiers !== "object" || value.tiers === null) {
    throw protocolError("STATS body is not {nodeId, tiers}");
  }
  return value as PeerStats;
}

export function encodeJson(value: unknown): Buffer {
  const out = Buffer.from(JSON.stringify(value), "utf8");
  if (out.length > MAX_JSON_BYTES) throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `JSON body of ${out.length} bytes exceeds ${MAX_JSON_BYTES}`);
  return out;
}

function decodeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw new KvCacheError(ErrorCode.PROTOCOL, "protocol error: body is not valid JSON", { cause: err });
  }
}
