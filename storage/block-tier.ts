import type { Block, BlockId } from "../src/block.js";

/** Which tier a block is in. */
export type TierName = "memory" | "disk" | "s3" | "tiered";

/** Options every tier operation takes last. */
export interface TierOptions {
  /** Aborting rejects the operation with ERR_ABORTED; a put either completes or leaves nothing. */
  readonly signal?: AbortSignal;
}

/** Sizes of a tier, in bytes and items. */
export interface TierStats {
  readonly items: number;
  /** Bytes of block data held (payloads; headers and tags are not counted). */
  readonly bytes: number;
  /** Configured capacity in bytes; `Infinity` when unbounded (S3). `bytes <= capacityBytes` always holds. */
  readonly capacityBytes: number;
}

/**
 * Why a block left a tier without being asked to:
 * - `capacity`: evicted (least recently used) to make room;
 * - `corrupt`: its stored bytes failed the checksum on read and were dropped.
 */
export type EvictionReason = "capacity" | "corrupt";

/**
 * Called when a tier evicts a block for capacity, with the block's bytes, before
 * they are gone. A durable tier awaits the returned promise before deleting its
 * copy, so the owner can move the block down first (nothing is lost in between).
 * A rejection is reported to the owner's error path; the block is still evicted.
 */
export type EvictionHandler = (id: BlockId, block: Block, reason: "capacity") => Promise<void> | void;

/**
 * Called after a tier dropped a copy that failed its checksum on read (the read
 * reports a miss), so the owner can tell where the copy went: the tiered store
 * turns it into a "corrupt" move. Tiers take it as `onCorrupt` in their options;
 * the tier itself counts the failure in its metrics.
 */
export type CorruptionHandler = (id: BlockId) => void;

/** Where a reserved block's bytes go in a shared memory file (see {@link ReservingTier}). */
export interface Reservation {
  /** Offset in the file (header included). */
  readonly offset: number;
  readonly length: number;
  readonly lease: number;
}

/**
 * A tier whose space a same-host client can write into itself: `reserve` finds
 * room (evicting as a put would) and leases it; `commit` publishes the block
 * once its bytes are written, as a put would; a lease that ends first frees the room.
 */
export interface ReservingTier {
  reserve(id: BlockId, length: number, checksum: number, tag: Uint8Array | undefined, options?: TierOptions): Promise<Reservation>;
  commit(id: BlockId, lease: number): void;
}

export function isReservingTier(tier: BlockTier): tier is BlockTier & ReservingTier {
  return typeof (tier as Partial<ReservingTier>).reserve === "function" && typeof (tier as Partial<ReservingTier>).commit === "function";
}

/**
 * One storage tier: a byte-capacity map from block id to {@link Block}.
 *
 * Contract, for every implementation:
 * - `get` resolves the block or `undefined` on a miss. It verifies the checksum
 *   on every read; a mismatching copy is deleted, counted, and reported as a miss
 *   (never returned, never thrown).
 * - `put` stores or replaces the block; when it resolves the block is readable
 *   (durable tiers: fully written, never visible half-written). A block larger
 *   than the tier's capacity rejects with ERR_BLOCK_TOO_LARGE and stores nothing.
 * - `delete` is idempotent: deleting a missing id resolves.
 * - `stats().bytes <= stats().capacityBytes` at every moment.
 * - Failures other than a miss reject with a KvCacheError (ERR_TIER_IO, ERR_S3, ERR_ABORTED…).
 * - Ids are validated ({@link assertBlockId}); an invalid id rejects with ERR_INVALID_ARGUMENT.
 * - After `close()` every operation rejects with ERR_CLOSED; `close()` is idempotent.
 */
export interface BlockTier {
  readonly name: TierName;
  get(id: BlockId, options?: TierOptions): Promise<Block | undefined>;
  put(id: BlockId, block: Block, options?: TierOptions): Promise<void>;
  has(id: BlockId, options?: TierOptions): Promise<boolean>;
  delete(id: BlockId, options?: TierOptions): Promise<void>;
  /** Results in the order of `ids`; a miss is `undefined`. */
  getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]>;
  putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void>;
  deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void>;
  /** Every id the tier holds now (order unspecified); used for warm restart and orphan sweeps. */
  ids(options?: TierOptions): AsyncIterable<BlockId>;
  stats(): TierStats;
  close(): Promise<void>;
}
