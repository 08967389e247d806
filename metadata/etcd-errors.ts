/**
 * The one place where etcd3 / gRPC errors become KvCacheErrors. Classification
 * uses error classes and gRPC status codes (via etcd3's own casting), never
 * message text.
 */
import {
  castGrpcError,
  ClientClosedError,
  EtcdAuthenticationFailedError,
  EtcdPermissionDeniedError,
  GRPCDeadlineExceededError,
  GRPCUnauthenticatedError,
  GRPCUnavailableError,
  isRecoverableError,
} from "etcd3";
import { ErrorCode, KvCacheError } from "../src/errors.js";

export interface EtcdErrorContext {
  /** The request kind, for the message: range, txn, put, delete, lease, watch. */
  readonly op: string;
  /** Endpoints, named in "unreachable" messages. */
  readonly endpoints: readonly string[];
}

/**
 * Maps any error thrown by the etcd3 client to a KvCacheError, keeping it as cause:
 * - unreachable (gRPC UNAVAILABLE: no connection, no leader, leader changed,
 *   server-side request timeout; every endpoint's circuit open) → ERR_ETCD_UNAVAILABLE, retryable;
 * - our deadline passed (gRPC DEADLINE_EXCEEDED) → ERR_TIMEOUT;
 * - the client was closed → ERR_CLOSED;
 * - anything else → ERR_ETCD, retryable only when etcd3 deems it transient
 *   (so permission, authentication and invalid-argument errors are not).
 * KvCacheErrors pass through unchanged.
 */
export function mapEtcdError(err: unknown, context: EtcdErrorContext): KvCacheError {
  if (err instanceof KvCacheError) return err;
  const typed = err instanceof Error && err.constructor === Error ? castGrpcError(err) : err;
  const reason = typed instanceof Error ? typed.message : String(typed);
  const details = { op: context.op, endpoints: context.endpoints.join(",") };
  if (typed instanceof GRPCUnavailableError || isBrokenCircuit(err)) {
    return new KvCacheError(ErrorCode.ETCD_UNAVAILABLE, `etcd ${context.op} failed: etcd unavailable at ${details.endpoints} (${reason})`, { cause: err, details });
  }
  if (typed instanceof GRPCDeadlineExceededError) {
    return new KvCacheError(ErrorCode.TIMEOUT, `etcd ${context.op} did not finish within its deadline (${reason})`, { cause: err, details });
  }
  if (typed instanceof ClientClosedError) {
    return new KvCacheError(ErrorCode.CLOSED, `etcd ${context.op} failed: the etcd client is closed`, { cause: err, details });
  }
  const refused = typed instanceof EtcdPermissionDeniedError || typed instanceof EtcdAuthenticationFailedError || typed instanceof GRPCUnauthenticatedError;
  const transient = !refused && typed instanceof Error && isRecoverableError(typed);
  return new KvCacheError(ErrorCode.ETCD, `etcd ${context.op} failed: ${reason}`, { cause: err, retryable: transient, details });
}

/** etcd3's default host policy throws cockatiel's BrokenCircuitError, marked by this property. */
function isBrokenCircuit(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { isBrokenCircuitError?: unknown }).isBrokenCircuitError === true;
}
