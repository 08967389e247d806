import { setTimeout as delay } from "node:timers/promises";

export interface WaitForOptions {
  /** Give up after this many milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Pause between two probes, in milliseconds (default 50). */
  readonly intervalMs?: number;
  /** What is awaited, for the timeout message ("etcd at http://… healthy"). */
  readonly what: string;
  /** Stops polling early: waitFor rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A probe's "not yet": any falsy value other than a real result. */
export type ProbeResult<T> = T | undefined | false;

/**
 * Polls `probe` until it returns a truthy value, and returns that value. A probe
 * that throws counts as "not yet"; when the deadline passes, the error names
 * `what` and carries the probe's last error as its cause. This is the only way
 * tests wait: never a fixed sleep.
 */
export async function waitFor<T>(
  probe: () => Promise<ProbeResult<T>> | ProbeResult<T>,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) throw timeoutError(opts.what, timeoutMs, lastError);
    await delay(Math.min(intervalMs, Math.max(0, deadline - Date.now())), undefined, { signal: opts.signal });
  }
}

function timeoutError(what: string, timeoutMs: number, lastError: unknown): Error {
  const last = lastError === undefined ? "" : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  return new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, { cause: lastError });
}
