import { ErrorCode, KvCacheError } from "../src/errors.js";

/**
 * Runs `fn` with a signal that fires after `ms`, and rejects with ERR_TIMEOUT at
 * that moment even if `fn` ignores its signal: a dead or hung node is never
 * waited on longer than the deadline.
 */
export async function withDeadline<T>(ms: number, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new KvCacheError(ErrorCode.TIMEOUT, `${what} did not answer within ${ms} ms`, { details: { timeoutMs: ms } });
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
