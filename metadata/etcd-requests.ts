import type { Etcd3, IDeleteRangeRequest, IDeleteRangeResponse, IPutRequest, IPutResponse, IRangeRequest, IRangeResponse, ITxnRequest, ITxnResponse } from "etcd3";
import { setTimeout as delay } from "node:timers/promises";
import { abortError, ErrorCode, isKvCacheError, type KvCacheError } from "../src/errors.js";
import type { CacheMetrics } from "../src/metrics.js";
import { mapEtcdError } from "./etcd-errors.js";
import type { CallOptions } from "./etcd-range-calls.js";


/** Request kinds, as counted in kvcache_etcd_requests_total{op}. */
export type EtcdOp = "range" | "txn" | "put" | "delete" | "lease" | "watch";

export interface EtcdRequestsOptions {
  readonly client: Etcd3;
  readonly metrics: CacheMetrics;
  /** Deadline of one logical request, retries included. */
  readonly timeoutMs: number;
  readonly endpoints: readonly string[];
}

/**
 * Every etcd request the store makes goes through here: counted per attempt in
 * etcdRequests{op}, bounded by one deadline, errors mapped (mapEtcdError) and
 * counted in backendErrors{backend="etcd"}, and transient failures (no leader,
 * a member down, a dropped connection, an attempt that hung past its share of
 * the time) retried on another endpoint with jittered backoff until the
 * deadline. A retried write may have been applied by the failed attempt;
 * callers whose writes are not idempotent are told the attempt number.
 */
export class EtcdRequests {
  constructor(private readonly options: EtcdRequestsOptions) {}

  get client(): Etcd3 {
    return this.options.client;
  }

  async run<T>(op: EtcdOp, attempt: (call: CallOptions, attemptNumber: number) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = Date.now() + this.options.timeoutMs;
    for (let n = 0; ; n++) {
      if (signal?.aborted) throw abortError(signal);
      this.options.metrics.etcdRequests.inc({ op });
      const attemptDeadline = attemptDeadlineOf(deadline);
      try {
        return await abortable(attempt({ deadline: attemptDeadline }, n), signal);
      } catch (err) {
        if (isKvCacheError(err, ErrorCode.ABORTED)) throw err;
        const error = this.failure(err, op);
        const pause = backoffMs(n);
        // An attempt that ran out of its own share of the time is retried while the request's deadline allows.
        const timedOut = error.code === ErrorCode.TIMEOUT && attemptDeadline >= deadline;
        if (!error.retryable || timedOut || Date.now() + pause >= deadline) throw error;
        await delay(pause, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Counts a request made outside {@link run} (etcd3's own lease keep-alives). */
  count(op: EtcdOp): void {
    this.options.metrics.etcdRequests.inc({ op });
  }

  /** Maps and counts a failure of one request. */
  failure(err: unknown, op: EtcdOp): KvCacheError {
    const error = mapEtcdError(err, { op, endpoints: this.options.endpoints });
    this.options.metrics.backendErrors.inc({ backend: "etcd", code: error.code });
    return error;
  }

  range(request: IRangeRequest, signal?: AbortSignal): Promise<IRangeResponse> {
    return this.run("range", (call) => this.client.kv.range(request, call), signal);
  }

  put(request: IPutRequest, signal?: AbortSignal): Promise<IPutResponse> {
    return this.run("put", (call) => this.client.kv.put(request, call), signal);
  }

  deleteRange(request: IDeleteRangeRequest, signal?: AbortSignal): Promise<IDeleteRangeResponse> {
    return this.run("delete", (call) => this.client.kv.deleteRange(request, call), signal);
  }

  /** A transaction; `onAttempt` learns each attempt's number (1+ means an earlier attempt may have applied). */
  txn(request: ITxnRequest, signal?: AbortSignal, onAttempt?: (attemptNumber: number) => void): Promise<ITxnResponse> {
    return this.run("txn", (call, n) => {
      onAttempt?.(n);
      return this.client.kv.txn(request, call);
    }, signal);
  }
}

/** Shortest deadline of one attempt (unless less of the request's time is left). */
const MIN_ATTEMPT_MS = 1000;

/**
 * One attempt may use half the time left (at least MIN_ATTEMPT_MS): when the
 * leader dies, a request a follower holds for it hangs until its deadline, and
 * must leave time to be retried once a new leader is elected.
 */
function attemptDeadlineOf(deadline: number): number {
  const now = Date.now();
  return Math.min(deadline, now + Math.max(MIN_ATTEMPT_MS, (deadline - now) / 2));
}

/** Exponential from 10 ms, capped at 250 ms, with jitter over the upper half so retrying clients spread out. */
function backoffMs(attemptNumber: number): number {
  const cap = Math.min(250, 10 * 2 ** attemptNumber);
  return cap / 2 + (Math.random() * cap) / 2;
}

/** Rejects as soon as `signal` fires; the call itself runs on to its deadline. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => { signal.removeEventListener("abort", onAbort); resolve(value); },
      (err: unknown) => { signal.removeEventListener("abort", onAbort); reject(err); },
    );
  });
}
