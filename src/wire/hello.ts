import { createHash, timingSafeEqual } from "node:crypto";
import { ErrorCode, KvCacheError } from "../errors.js";
import { encodeRequestHeader } from "./frames.js";
import { MAX_HELLO_BYTES, Op } from "./protocol.js";

/**
 * The HELLO exchange (see Op.HELLO): the client sends the cluster secret as
 * the frame's data, the node compares it with its own in constant time.
 */

/** The request id a HELLO carries; the node's OK echoes it, a refusal uses the connection-level id 0. */
export const HELLO_REQUEST_ID = 0xffffffff;

/** Header and data of the HELLO frame carrying `secret`. */
export function encodeHello(secret: string): { header: Buffer; data: Buffer } {
  const data = Buffer.from(secret, "utf8");
  if (data.length > MAX_HELLO_BYTES) throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `the secret is ${data.length} bytes; a HELLO carries at most ${MAX_HELLO_BYTES}`);
  const header = encodeRequestHeader({ op: Op.HELLO, requestId: HELLO_REQUEST_ID, blockId: "", checksum: 0, tagLength: 0, dataLength: data.length });
  return { header, data };
}

/**
 * Checks presented secrets against the configured one. Both sides are hashed
 * to fixed-length SHA-256 digests and compared with timingSafeEqual, so the
 * time taken says nothing about the secret, its length included.
 */
export class SecretVerifier {
  readonly #digest: Buffer;

  constructor(secret: string) {
    if (secret === "") throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, "a SecretVerifier needs a non-empty secret");
    this.#digest = digest(Buffer.from(secret, "utf8"));
  }

  matches(presented: Uint8Array): boolean {
    return timingSafeEqual(digest(presented), this.#digest);
  }
}

function digest(bytes: Uint8Array): Buffer {
  return createHash("sha256").update(bytes).digest();
}

/** Why a connection was refused, as counted in kvcache_auth_failures_total{reason}. */
export type AuthFailure = "missing" | "wrong";

/** The ERR_AUTH a node answers (request id 0) before closing; `reason` is in details. */
export function authError(reason: AuthFailure): KvCacheError {
  const message = reason === "missing"
    ? "authentication required: the first frame must be a HELLO carrying the cluster secret, and its reply awaited"
    : "authentication failed: wrong cluster secret";
  return new KvCacheError(ErrorCode.AUTH, message, { details: { reason } });
}
