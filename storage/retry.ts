import { setTimeout as delay } from "node:timers/promises";
import { isKvCacheError } from "../src/errors.js";

/** How often and how patiently to retry a failed background transfer. */
export interface RetryPolicy {
  /** Tries in all, the first included (>= 1). */
  readonly attempts: number;
  /** Pause before the second try; doubled before each further one. */
  readonly baseDelayMs: number;
}

/**
 * Runs `work` until it succeeds, the error is not retryable (a KvCacheError with
 * `retryable: false`, or any foreign error), or `policy.attempts` are spent; then
 * rethrows the last error.
 */
export async function withRetry<T>(work: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= policy.attempts || !isKvCacheError(err) || !err.retryable) throw err;
      await delay(policy.baseDelayMs * 2 ** (attempt - 1));
    }
  }
}
