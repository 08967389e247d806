import type { SecretVerifier } from "../wire/hello.js";
import type { WireLimits } from "../wire/protocol.js";
import type { ConnectionMetrics } from "./connection-metrics.js";

/** What the data server demands of every client connection. */
export interface ConnectionPolicy {
  readonly limits: WireLimits;
  /** The cluster secret's verifier; undefined: authentication off. */
  readonly verifier?: SecretVerifier;
  /** A header must be complete this long after its first byte; an unauthenticated connection must have passed its HELLO this long after opening. */
  readonly headerTimeoutMs: number;
  /** A connection with no request in hand and no bytes moving for this long is closed. */
  readonly idleTimeoutMs: number;
  readonly metrics?: ConnectionMetrics;
  /** Where a request body of `length` bytes is received (a pooled buffer the handler gives back); undefined: a new buffer. */
  readonly bodyBuffer?: (length: number) => Buffer | undefined;
}

/** Defaults when a caller gives only limits (tests, embedded servers): generous timeouts, no auth. */
export const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 300_000;
