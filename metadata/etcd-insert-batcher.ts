import { abortError } from "../src/errors.js";
import { CoalescingQueue } from "./coalescing-queue.js";
import { putManyInEtcd, type EntryOf, type PlannedPut, type PutResult } from "./etcd-put-many.js";
import type { EtcdRequests } from "./etcd-requests.js";

/** Transactions in flight at once; inserts asked for meanwhile wait and go together in the next. */
const MAX_IN_FLIGHT = 2;

interface Waiting {
  readonly item: Omit<PlannedPut, "index">;
  resolve(result: PutResult): void;
  reject(err: unknown): void;
}

/**
 * Coalesces concurrent insertIfAbsent calls into putMany transactions (see
 * etcd-put-many.ts: one optimistic transaction per batch, existing keys
 * resolved as not inserted at the same revision, the rest retried). Calls of
 * one turn of the event loop, or made while {@link MAX_IN_FLIGHT} transactions
 * are out, share one: under concurrent inserts this divides the gRPC client's
 * and etcd's per-call cost by the batch size. A caller's signal rejects its
 * own wait (like an abandoned single request, its write may still land); a
 * failed transaction fails every insert in it.
 */
export class EtcdInsertBatcher {
  // putMany cuts the batch to etcd's limits itself.
  readonly #queue = new CoalescingQueue<Waiting>((batch) => this.#send(batch), MAX_IN_FLIGHT);

  constructor(
    private readonly requests: EtcdRequests,
    private readonly entryOf: EntryOf,
  ) {}

  insert(item: Omit<PlannedPut, "index">, signal?: AbortSignal): Promise<PutResult> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(abortError(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      const done = (): void => signal?.removeEventListener("abort", onAbort);
      this.#queue.push({ item, resolve: (r) => (done(), resolve(r)), reject: (e) => (done(), reject(e)) });
    });
  }

  async #send(batch: readonly Waiting[]): Promise<void> {
    try {
      const results = await putManyInEtcd(this.requests, batch.map((w, index) => ({ ...w.item, index })), this.entryOf);
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
