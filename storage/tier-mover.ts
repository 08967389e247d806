import type { Block, BlockId } from "../src/block.js";
import type { BlockTier } from "./block-tier.js";
import { KeyedLock } from "./keyed-lock.js";
import { KnownCopies } from "./known-copies.js";
import { PendingMoves, type PendingMove } from "./pending-moves.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import type { StoreTierName, TierMove } from "./tier-events.js";

/** How a {@link TierMover} reports and retries. */
export interface TierMoverOptions {
  readonly emit: (move: TierMove) => void;
  readonly reportError: (err: unknown) => void;
  readonly spillRetry: RetryPolicy;
}

/**
 * The eviction half of the tiered store's policy: where an evicted block goes.
 * Memory's victims are demoted to disk, else spilled to S3, else dropped; disk's
 * victims are spilled to S3, else dropped. Blocks sit in {@link pending} while in
 * transit so reads still find them.
 */
export class TierMover {
  readonly pending = new PendingMoves();
  readonly known = new KnownCopies();
  /** Serialises moves of one id out of memory, so an older copy never lands after a newer one. */
  readonly #demotions = new KeyedLock();
  readonly #options: TierMoverOptions;
  /** Set by the owner as it builds the tiers (S3 first, so disk's warm restart can spill). */
  disk: BlockTier | undefined;
  s3: BlockTier | undefined;

  constructor(options: TierMoverOptions) {
    this.#options = options;
  }

  /** Memory's eviction handler. Never rejects: failures become `dropped` moves plus onError. */
  async demote(id: BlockId, block: Block): Promise<void> {
    const move = this.pending.add(id, block, "memory");
    const release = await this.#demotions.acquire(id);
    try {
      if (!move.cancelled) await this.#moveDown(move, this.#lower());
    } finally {
      release();
      this.pending.remove(move);
    }
  }

  /** Disk's eviction handler, awaited by the disk tier before it deletes its copy. */
  async spill(id: BlockId, block: Block): Promise<void> {
    const move = this.pending.add(id, block, "disk");
    try {
      if (!move.cancelled) await this.#moveDown(move, this.s3 === undefined ? [] : [this.s3]);
    } finally {
      this.pending.remove(move);
    }
  }

  /**
   * Stops moves of `ids` that have not landed (the blocks were deleted or replaced)
   * and waits for those already under way; call the returned release when done.
   */
  async hold(ids: readonly BlockId[]): Promise<() => void> {
    for (const id of ids) {
      this.pending.cancel(id);
      this.known.forget(id);
    }
    const releases: (() => void)[] = [];
    // Sorted, so two holders of overlapping sets cannot deadlock.
    for (const id of [...ids].sort()) releases.push(await this.#demotions.acquire(id));
    return () => releases.forEach((release) => release());
  }

  /** Reports a block that now lives in `target` rather than `from`. */
  landed(id: BlockId, block: Block, from: StoreTierName, target: BlockTier): void {
    const to = target.name as "disk" | "s3";
    if (to === "s3") this.known.forget(id);
    this.#options.emit({ id, from, to, reason: to === "s3" ? "spilled" : "demoted", block });
  }

  /** Best effort: a tier that did not take this copy must not go on serving an older one. */
  async discard(id: BlockId, tiers: BlockTier[]): Promise<void> {
    await Promise.all(tiers.map((tier) => tier.delete(id).catch((err: unknown) => this.#options.reportError(err))));
  }

  /** Places the block in the first of `targets` that takes it, else reports it dropped. */
  async #moveDown(move: PendingMove, targets: BlockTier[]): Promise<void> {
    const { id, block, from } = move;
    for (const [i, target] of targets.entries()) {
      if (!(await this.#placeIn(target, id, block))) continue;
      await this.discard(id, targets.slice(0, i));
      return this.landed(id, block, from, target);
    }
    await this.discard(id, targets);
    this.known.forget(id);
    this.#options.emit({ id, from, to: "none", reason: "dropped", block });
  }

  /** True once `target` holds the block: written now, or known to be there already. */
  async #placeIn(target: BlockTier, id: BlockId, block: Block): Promise<boolean> {
    if (block.data.byteLength > target.stats().capacityBytes) return false;
    try {
      if (this.known.has(id, target.name as "disk" | "s3") && (await target.has(id))) return true;
      if (target === this.s3) await withRetry(() => target.put(id, block), this.#options.spillRetry);
      else await target.put(id, block);
      return true;
    } catch (err) {
      this.#options.reportError(err);
      return false;
    }
  }

  #lower(): BlockTier[] {
    return [this.disk, this.s3].filter((tier): tier is BlockTier => tier !== undefined);
  }
}
