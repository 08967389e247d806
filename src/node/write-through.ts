import pLimit, { type LimitFunction } from "p-limit";
import { setTimeout as delay } from "node:timers/promises";
import type { Block, BlockId } from "../block.js";
import { decodeBlockTag } from "../block-tag.js";
import type { CacheMetrics } from "../metrics.js";
import type { LocationTracker } from "../../metadata/location-tracker.js";
import type { BlockTier } from "../../storage/block-tier.js";
import { InFlight } from "../../storage/in-flight.js";
import type { Logger } from "./logger.js";

export interface WriteThroughOptions {
  readonly s3: BlockTier;
  readonly tracker: LocationTracker;
  /** Uploads in flight at once. */
  readonly concurrency: number;
  /** Uploads queued beyond this are skipped (the block still spills to S3 on eviction). */
  readonly maxQueued?: number;
  /**
   * Waits before asking again when the descriptor is not there yet: the SDK
   * writes it only after the node acknowledged the PUT, so a fast upload can
   * finish first. Past the last try, the sweep marks the copy instead.
   */
  readonly retryDelaysMs?: readonly number[];
  readonly logger: Logger;
  readonly metrics?: CacheMetrics;
}

const DEFAULT_RETRY_DELAYS_MS = [50, 250, 1000, 3000];
const DEFAULT_MAX_QUEUED = 1024;

/**
 * Uploads each new block to S3 in the background after the node acknowledged
 * its PUT, then marks the descriptor s3=true (only once the copy is durable:
 * invariant 1). Bounded: a p-limit queue, and a cap on what may wait in it.
 */
export class WriteThrough {
  private readonly limit: LimitFunction;
  private readonly stopping = new AbortController();
  private readonly inFlight = new InFlight();

  constructor(private readonly options: WriteThroughOptions) {
    // Queued uploads are dropped at close: rejected, so close() does not wait on them forever.
    this.limit = pLimit({ concurrency: options.concurrency, rejectOnClear: true });
  }

  /** Queues an upload of `block`; never throws (failures are logged and counted). */
  schedule(id: BlockId, block: Block): void {
    if (this.stopping.signal.aborted) return;
    if (this.limit.pendingCount >= (this.options.maxQueued ?? DEFAULT_MAX_QUEUED)) {
      this.options.logger.warn("write-through queue full; block will reach S3 only on eviction", { blockId: id });
      this.options.metrics?.backendErrors.inc({ backend: "s3", code: "write_through_skipped" });
      return;
    }
    const job = this.limit(() => this.upload(id, block));
    void this.inFlight.track(job);
  }

  /** Uploads still queued are dropped; those in flight finish (their marks are not retried). Idempotent. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.limit.clearQueue();
    await this.inFlight.drain();
  }

  private async upload(id: BlockId, block: Block): Promise<void> {
    if (this.stopping.signal.aborted) return;
    try {
      await this.options.s3.put(id, block);
    } catch (err) {
      this.options.logger.warn("write-through upload failed; block will reach S3 on eviction", { blockId: id, err });
      return;
    }
    const owner = decodeBlockTag(block.tag);
    if (owner === undefined) return;
    for (const wait of [0, ...(this.options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS)]) {
      if (wait > 0 && !(await this.pause(wait))) return;
      if (await this.options.tracker.storedInS3(id, owner)) return;
    }
  }

  /** False when the node is shutting down. */
  private async pause(ms: number): Promise<boolean> {
    try {
      await delay(ms, undefined, { signal: this.stopping.signal, ref: false });
      return true;
    } catch {
      return false;
    }
  }
}
