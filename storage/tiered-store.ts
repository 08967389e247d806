import type { Block, BlockId } from "../src/block.js";
import { CacheMetrics } from "../src/metrics.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { isReservingTier, type BlockTier, type Reservation, type ReservingTier, type TierOptions, type TierStats } from "./block-tier.js";
import { InFlight } from "./in-flight.js";
import { MoveCollector } from "./move-collector.js";
import type { RetryPolicy } from "./retry.js";
import { emitMove, type StoreTierName, type TierMove } from "./tier-events.js";
import type { TierFactory, TierHooks } from "./tier-factories.js";
import { TierMover } from "./tier-mover.js";
import { assertStorable, getEach, guardBatch, guardIdOp, guardOp, putEach } from "./tier-support.js";

export interface TieredStoreOptions {
  /** The memory tier, e.g. `memoryTier({ capacityBytes })`. Every put lands here first. */
  readonly memory: TierFactory;
  /** The disk tier, e.g. `diskTier({ directory, capacityBytes })`: takes what memory evicts. */
  readonly disk?: TierFactory;
  /** The S3 tier, e.g. `s3Tier({ config, namespace })`: takes what disk (or, without disk, memory) evicts. */
  readonly s3?: TierFactory;
  readonly metrics?: CacheMetrics;
  /** Told about every change of a block's location (see {@link TierMove}). */
  readonly onMove?: (move: TierMove) => void;
  /** Background failures: a demotion or spill that failed, a listener that threw. */
  readonly onError?: (err: unknown) => void;
  /** Retries of a failed spill to S3 before the block is reported dropped (default 4 tries from 100 ms). */
  readonly spillRetry?: RetryPolicy;
  /** New puts wait while more than this many bytes are in transit between tiers (default 64 MiB). */
  readonly maxPendingBytes?: number;
}

const TIER = "tiered";
const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 100 };
const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * Memory, then disk, then S3, as one {@link BlockTier}. All placement policy is
 * here and in {@link TierMover} (the eviction half):
 *
 * - `put` lands in memory (a block larger than memory goes straight to the first
 *   tier it fits, reported as a demotion or spill, and stale copies above it are
 *   deleted). What memory evicts is demoted to disk, else spilled to S3, else
 *   dropped; what disk evicts is spilled to S3, else dropped.
 * - A spill to S3 is retried ({@link RetryPolicy}); a demotion that fails falls
 *   through to S3. A block no tier took is reported `dropped` through onMove and
 *   its error through onError: never lost silently.
 * - A hit below memory is promoted: copied into memory, the lower copy kept. If it
 *   is evicted again while that copy is known to exist, it is not written again.
 * - In transit, blocks sit in a pending map that reads consult, so a block is
 *   readable throughout a move. Every operation resolves only after the moves it
 *   caused (its evictions) have landed, and puts wait while more than
 *   `maxPendingBytes` are in transit: the map holds at most that plus what the
 *   operations in flight displace.
 * - `stats()` sums the tiers, so a promoted block is counted once per copy;
 *   `ids()` lists each block once. Corrupt copies found by a tier are reported as
 *   `corrupt` moves and the read falls through to the next tier.
 * - `close()` waits for operations in flight, then closes the tiers (memory's
 *   contents are not written down).
 * - Known race: a read that found a block below memory just before a concurrent
 *   delete of it may still promote it into memory afterwards.
 */
export class TieredStore implements BlockTier {
  readonly name = TIER;
  readonly #options: TieredStoreOptions;
  readonly #metrics: CacheMetrics;
  readonly #mover: TierMover;
  readonly #moves = new MoveCollector();
  readonly #inFlight = new InFlight();
  #memory!: BlockTier;
  #disk: BlockTier | undefined;
  #s3: BlockTier | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: TieredStoreOptions) {
    this.#options = options;
    this.#metrics = options.metrics ?? new CacheMetrics();
    const reportError = (err: unknown): void => options.onError?.(err);
    const emit = (move: TierMove): void => emitMove(move, this.#metrics, options.onMove, reportError);
    this.#mover = new TierMover({ emit, reportError, spillRetry: options.spillRetry ?? DEFAULT_RETRY });
  }

  /** Builds the tiers through their factories, wiring their eviction and corruption handlers here. */
  static async open(options: TieredStoreOptions): Promise<TieredStore> {
    const store = new TieredStore(options);
    const built: BlockTier[] = [];
    try {
      built.push((store.#memory = await options.memory(store.#hooks("memory"))));
      // S3 before disk: a disk reopened over its capacity evicts (spills) while opening.
      if (options.s3 !== undefined) built.push((store.#s3 = store.#mover.s3 = await options.s3(store.#hooks("s3"))));
      if (options.disk !== undefined) built.push((store.#disk = store.#mover.disk = await options.disk(store.#hooks("disk"))));
    } catch (err) {
      await Promise.allSettled(built.map((tier) => tier.close()));
      throw err;
    }
    return store;
  }

  async get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    return this.#inFlight.track(this.#read(id, options));
  }

  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    assertStorable(TIER, block, this.#largestTier());
    return this.#inFlight.track(this.#write(id, block, options));
  }

  async has(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    if (this.#mover.pending.find(id) !== undefined) return true;
    for (const tier of this.#tiers()) if (await tier.has(id, options)) return true;
    return false;
  }

  /**
   * Whether this store holds the block outside S3: in memory, on disk, or in
   * transit between tiers (a move that lands reports itself). A node is a
   * holder exactly while this is true.
   */
  async holdsLocally(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    if (this.#mover.pending.find(id) !== undefined) return true;
    for (const tier of [this.#memory, ...(this.#disk === undefined ? [] : [this.#disk])]) if (await tier.has(id, options)) return true;
    return false;
  }

  /**
   * Room in memory for a block a same-host client writes itself (memory must be
   * a {@link ReservingTier}, else ERR_INVALID_ARGUMENT). Like a put, it waits
   * while too many bytes are in transit and resolves after the moves it caused.
   */
  async reserve(id: BlockId, length: number, checksum: number, tag: Uint8Array | undefined, options?: TierOptions): Promise<Reservation> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    const memory = this.#reservingMemory();
    return this.#inFlight.track((async () => {
      await this.#mover.pending.waitBelow(this.#options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, options?.signal);
      let reservation: Reservation | undefined;
      await this.#moves.run(async () => void (reservation = await memory.reserve(id, length, checksum, tag, options)));
      return reservation!;
    })());
  }

  /** Publishes a reserved block whose bytes are written: from here on it is stored as if put. */
  commit(id: BlockId, lease: number): void {
    guardIdOp(TIER, this.#closing !== undefined, id, undefined);
    const memory = this.#reservingMemory();
    // As for a put: older copies in transit must not land after this one.
    this.#mover.pending.cancel(id);
    this.#mover.known.forget(id);
    memory.commit(id, lease);
  }

  async delete(id: BlockId, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closing !== undefined, id, options);
    return this.#inFlight.track(this.#remove([id], options));
  }

  async getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    guardOp(TIER, this.#closing !== undefined, options);
    return getEach(this, ids, options);
  }

  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    guardBatch(TIER, this.#closing !== undefined, entries, this.#largestTier(), options);
    await putEach(this, entries, options);
  }

  async deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void> {
    guardOp(TIER, this.#closing !== undefined, options);
    for (const id of ids) guardIdOp(TIER, false, id, undefined);
    return this.#inFlight.track(this.#remove([...new Set(ids)], options));
  }

  /** Each block once: memory, in transit, disk, then S3 (a listing). */
  async *ids(options?: TierOptions): AsyncIterable<BlockId> {
    guardOp(TIER, this.#closing !== undefined, options);
    const seen = new Set<BlockId>();
    for (const source of [this.#memory.ids(options), this.#mover.pending.ids(), ...this.#lower().map((t) => t.ids(options))]) {
      for await (const id of source) {
        if (!seen.has(id)) yield id;
        seen.add(id);
      }
    }
  }

  /** The tiers' stats summed (a block with copies in two tiers counts twice). */
  stats(): TierStats {
    let [items, bytes, capacityBytes] = [0, 0, 0];
    for (const tier of this.#tiers()) {
      const s = tier.stats();
      [items, bytes, capacityBytes] = [items + s.items, bytes + s.bytes, capacityBytes + s.capacityBytes];
    }
    return { items, bytes, capacityBytes };
  }

  tierStats(): Record<StoreTierName, TierStats | undefined> {
    return { memory: this.#memory.stats(), disk: this.#disk?.stats(), s3: this.#s3?.stats() };
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#inFlight.drain();
    await Promise.allSettled(this.#tiers().map((tier) => tier.close()));
  }

  async #read(id: BlockId, options: TierOptions | undefined): Promise<Block | undefined> {
    const hot = (await this.#memory.get(id, options)) ?? this.#mover.pending.find(id);
    if (hot !== undefined) return hot;
    for (const tier of this.#lower()) {
      const block = await tier.get(id, options);
      if (block !== undefined) {
        await this.#promote(id, block, tier.name as "disk" | "s3");
        return block;
      }
    }
    return undefined;
  }

  /** Copies a lower-tier hit into memory; a failure only costs the next read a lower-tier trip. */
  async #promote(id: BlockId, block: Block, from: "disk" | "s3"): Promise<void> {
    if (block.data.byteLength > this.#memory.stats().capacityBytes) return;
    try {
      await this.#moves.run(() => this.#memory.put(id, block));
    } catch (err) {
      this.#reportError(err);
      return;
    }
    this.#mover.known.add(id, from);
    this.#emit({ id, from, to: "memory", reason: "promoted", block });
  }

  async #write(id: BlockId, block: Block, options: TierOptions | undefined): Promise<void> {
    await this.#mover.pending.waitBelow(this.#options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES, options?.signal);
    // A replaced block's older copies in transit must not land after this one.
    this.#mover.pending.cancel(id);
    this.#mover.known.forget(id);
    const tiers = this.#tiers();
    const at = tiers.findIndex((tier) => block.data.byteLength <= tier.stats().capacityBytes);
    const target = tiers[at]!;
    await this.#moves.run(() => target.put(id, block, options));
    if (at === 0) return;
    // Straight to a lower tier: copies above it are stale and would shadow it.
    await this.#mover.discard(id, tiers.slice(0, at));
    this.#mover.landed(id, block, "memory", target);
  }

  async #remove(ids: BlockId[], options: TierOptions | undefined): Promise<void> {
    // Out of memory first, so no new eviction of these ids can start a move.
    await this.#memory.deleteMany(ids, options);
    const release = await this.#mover.hold(ids);
    try {
      // Disk before S3: a spill in flight holds the disk copy until its upload is done.
      for (const tier of this.#lower()) await tier.deleteMany(ids, options);
    } finally {
      release();
    }
  }

  #hooks(tier: StoreTierName): TierHooks {
    // S3 never evicts; memory reports synchronously, so its moves are attributed to the operation.
    const onEvict = (id: BlockId, block: Block): Promise<void> => {
      if (tier !== "memory") return this.#mover.spill(id, block);
      const move = this.#mover.demote(id, block);
      this.#moves.started(move);
      return move;
    };
    const onCorrupt = (id: BlockId): void => {
      if (tier !== "memory") this.#mover.known.lost(id, tier);
      this.#emit({ id, from: tier, to: "none", reason: "corrupt" });
    };
    return { onEvict, onCorrupt, onError: (err) => this.#reportError(err), metrics: this.#metrics };
  }

  #emit(move: TierMove): void {
    emitMove(move, this.#metrics, this.#options.onMove, (err) => this.#reportError(err));
  }

  #reportError(err: unknown): void {
    this.#options.onError?.(err);
  }

  #reservingMemory(): BlockTier & ReservingTier {
    if (isReservingTier(this.#memory)) return this.#memory;
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, "this store's memory tier does not take reservations (it is not shared)");
  }

  #tiers(): BlockTier[] {
    return [this.#memory, ...this.#lower()];
  }

  #lower(): BlockTier[] {
    return [this.#disk, this.#s3].filter((tier): tier is BlockTier => tier !== undefined);
  }

  #largestTier(): number {
    return Math.max(...this.#tiers().map((tier) => tier.stats().capacityBytes));
  }
}
