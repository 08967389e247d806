import type { Etcd3, IRangeRequest, IRangeResponse } from "etcd3";
import { CoalescingQueue } from "./coalescing-queue.js";
import { EtcdRangeCalls, type CallOptions } from "./etcd-range-calls.js";

/** Ranges per transaction: etcd refuses more than --max-txn-ops (default 128) operations. */
const MAX_RANGES = 64;
/**
 * Transactions in flight at once. Ranges asked for while they are all out wait
 * for the next to come back, and go together: under steady concurrent load a
 * batch forms per etcd round trip instead of per event-loop turn. Two, not one,
 * so a single slow call does not hold every lookup behind it.
 */
const MAX_IN_FLIGHT = 2;
/** Key bytes per transaction, well under etcd's --max-request-bytes (1.5 MiB): a query key may be 384 KiB. */
const MAX_BYTES = 512 * 1024;

interface Waiting {
  readonly request: IRangeRequest;
  readonly call: CallOptions;
  readonly bytes: number;
  resolve(response: IRangeResponse): void;
  reject(err: unknown): void;
}

/**
 * Coalesces the range reads issued during one turn of the event loop (or, when
 * {@link MAX_IN_FLIGHT} calls are out, until one comes back) into one read-only
 * etcd transaction (one gRPC call, one linearizable read index on the server)
 * whose responses are handed back in order. A range alone is sent as a plain
 * range. Under concurrent lookups this divides the per-call cost of the gRPC
 * client and of etcd (about 1 ms of CPU per call here) by the batch size; a
 * lone lookup waits one setImmediate. A failed transaction fails every range
 * in it, each of which its caller retries on its own (EtcdRequests.run).
 */
export class EtcdRangeBatcher {
  readonly #queue = new CoalescingQueue<Waiting>((batch) => this.#send(batch), MAX_IN_FLIGHT, cut);
  readonly #calls: EtcdRangeCalls;

  constructor(client: Etcd3) {
    this.#calls = new EtcdRangeCalls(client);
  }

  range(request: IRangeRequest, call: CallOptions): Promise<IRangeResponse> {
    return new Promise((resolve, reject) => this.#queue.push({ request, call, bytes: byteLength(request), resolve, reject }));
  }

  async #send(batch: readonly Waiting[]): Promise<void> {
    try {
      if (batch.length === 1) {
        batch[0]!.resolve(await this.#calls.range(batch[0]!.request, batch[0]!.call));
        return;
      }
      const ranges = await this.#calls.ranges(batch.map((w) => w.request), earliest(batch));
      batch.forEach((w, i) => {
        const range = ranges[i];
        if (range === undefined) w.reject(new Error(`etcd transaction of ${batch.length} ranges answered ${ranges.length}`));
        else w.resolve(range);
      });
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}

/** Batches within etcd's limits on operations and bytes per transaction. */
function cut(queue: readonly Waiting[]): Waiting[][] {
  const batches: Waiting[][] = [];
  let batch: Waiting[] = [];
  let bytes = 0;
  for (const w of queue) {
    if (batch.length > 0 && (batch.length >= MAX_RANGES || bytes + w.bytes > MAX_BYTES)) {
      batches.push(batch);
      [batch, bytes] = [[], 0];
    }
    batch.push(w);
    bytes += w.bytes;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** The batch runs under its most pressing caller's deadline. */
function earliest(batch: readonly Waiting[]): CallOptions {
  return batch.reduce((a, w) => (deadlineOf(w.call) < deadlineOf(a) ? w.call : a), batch[0]!.call);
}

function deadlineOf(call: CallOptions): number {
  const d = (call as { deadline?: number | Date }).deadline;
  return d === undefined ? Infinity : Number(d);
}

function byteLength(r: IRangeRequest): number {
  const size = (v: unknown): number => (v === undefined ? 0 : typeof v === "string" ? Buffer.byteLength(v) : (v as Uint8Array).length);
  return size(r.key) + size(r.range_end) + 32;
}
