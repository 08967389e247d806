import type { Block, BlockId } from "../src/block.js";
import { ErrorCode, isKvCacheError } from "../src/errors.js";
import { CacheMetrics } from "../src/metrics.js";
import type { BlockTier, CorruptionHandler, EvictionHandler, TierOptions, TierStats } from "./block-tier.js";
import { ChangeSignal } from "./change-signal.js";
import { DiskLayout, readBlockFile, removeFile, syncDir, writeBlockFile } from "./disk-files.js";
import { nodeDiskFs, type DiskFs } from "./disk-fs.js";
import { DiskIndex, type IndexEntry } from "./disk-index.js";
import { restoreDirectory } from "./disk-restore.js";
import { InFlight } from "./in-flight.js";
import { KeyedLock } from "./keyed-lock.js";
import { assertCapacity, assertStorable, countRead, deleteEach, errorCodeOf, getEach, guardBatch, guardIdOp, guardOp, notifyCorrupt, putEach, runEvictionHandler } from "./tier-support.js";

export interface DiskTierOptions {
  /** Directory the tier owns (created if missing); blocks from a previous run are kept. */
  readonly directory: string;
  /** Payload bytes the tier may hold (headers and tags not counted). A positive integer. */
  readonly capacityBytes: number;
  /**
   * Told about every block evicted for capacity, with its verified bytes; awaited
   * before the file is deleted, so the owner can move the block down first.
   */
  readonly onEvict?: EvictionHandler;
  /**
   * Told after a copy was dropped because it failed to verify (on get, on eviction,
   * or a bad header at open) or its file vanished behind the tier's back.
   */
  readonly onCorrupt?: CorruptionHandler;
  /** Receives what `onEvict` or `onCorrupt` threw or rejected with; the block is evicted regardless. */
  readonly onError?: (err: unknown) => void;
  readonly metrics?: CacheMetrics;
  /** File-system calls; node:fs/promises unless a test injects faults. */
  readonly fs?: DiskFs;
}

const TIER = "disk";
/** The single key of the room-making lock: one eviction round at a time. */
const ROOM = "room";

interface Victim {
  readonly id: BlockId;
  readonly entry: IndexEntry;
  readonly release: () => void;
}

/**
 * The NVMe tier: one file per block (layout in disk-files.ts, format in
 * disk-format.ts), a byte capacity with least-recently-used eviction, and a warm
 * restart that rebuilds the index from the files.
 *
 * Concurrency: a put reserves its bytes before any I/O, evicting first when they
 * are not free (one eviction round at a time). Puts, deletes and evictions of one id
 * hold that id's lock; a put takes it only after its reservation, and an eviction
 * picks only unlocked ids, so every lock holder finishes without waiting for room.
 */
export class DiskTier implements BlockTier {
  readonly name = TIER;
  readonly #options: DiskTierOptions;
  readonly #fs: DiskFs;
  readonly #layout: DiskLayout;
  readonly #index: DiskIndex;
  readonly #metrics: CacheMetrics;
  readonly #locks = new KeyedLock();
  readonly #roomLock = new KeyedLock();
  readonly #inflight = new InFlight();
  /** Wakes room-makers waiting for a lock release or a reservation to come back. */
  readonly #changed = new ChangeSignal();
  #closed = false;
  readonly #onError = (err: unknown): void => this.#options.onError?.(err);

  private constructor(options: DiskTierOptions, fs: DiskFs) {
    this.#options = options;
    this.#fs = fs;
    this.#layout = new DiskLayout(options.directory);
    this.#index = new DiskIndex(options.capacityBytes);
    this.#metrics = options.metrics ?? new CacheMetrics();
  }

  /** Opens (or creates) the tier in `options.directory`, evicting down to capacity if the directory holds more. */
  static async open(options: DiskTierOptions): Promise<DiskTier> {
    assertCapacity(TIER, options.capacityBytes);
    const tier = new DiskTier(options, options.fs ?? nodeDiskFs);
    const found = await restoreDirectory(tier.#fs, tier.#layout);
    for (const block of found.blocks) tier.#index.load(block.id, block.size);
    for (const id of found.badFiles) {
      tier.#metrics.checksumFailures.inc({ tier: TIER });
      tier.#reportLost(id);
    }
    try {
      while (tier.#index.free < 0) await tier.#makeRoom(-tier.#index.free, undefined);
    } catch (err) {
      await tier.close();
      throw err;
    }
    tier.#report();
    return tier;
  }

  async get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    guardIdOp(TIER, this.#closed, id, options);
    return this.#track(this.#read(id));
  }

  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    assertStorable(TIER, block, this.#index.capacityBytes);
    return this.#track(this.#write(id, block, options?.signal));
  }

  async has(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closed, id, options);
    return this.#index.get(id) !== undefined;
  }

  async delete(id: BlockId, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    return this.#track(this.#remove(id));
  }

  async getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    guardOp(TIER, this.#closed, options);
    return getEach(this, ids, options);
  }

  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    guardBatch(TIER, this.#closed, entries, this.#index.capacityBytes, options);
    await putEach(this, entries, options);
  }

  async deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void> {
    guardOp(TIER, this.#closed, options);
    await deleteEach(this, ids, options);
  }

  async *ids(options?: TierOptions): AsyncIterable<BlockId> {
    guardOp(TIER, this.#closed, options);
    yield* this.#index.ids();
  }

  stats(): TierStats {
    return { items: this.#index.items, bytes: this.#index.bytes, capacityBytes: this.#index.capacityBytes };
  }

  /** Refuses new operations, then waits for those in flight (files complete, locks released). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#changed.notify();
    await this.#inflight.drain();
  }

  async #read(id: BlockId): Promise<Block | undefined> {
    const entry = this.#index.get(id);
    if (entry === undefined) return this.#counted(undefined);
    this.#index.touch(id);
    const found = await readBlockFile(this.#fs, this.#layout.blockPath(id));
    if (typeof found !== "string") return this.#counted(found);
    const release = await this.#locks.acquire(id);
    try {
      await this.#drop(id, entry, found);
    } finally {
      this.#unlock(release);
    }
    return this.#counted(undefined);
  }

  async #write(id: BlockId, block: Block, signal: AbortSignal | undefined): Promise<void> {
    const size = block.data.byteLength;
    await this.#reserve(size, signal);
    let reserved = size;
    try {
      const release = await this.#locks.acquire(id);
      try {
        guardOp(TIER, this.#closed, { signal });
        await writeBlockFile(this.#fs, this.#layout, id, block, signal);
        this.#index.commit(id, size, reserved);
        reserved = 0;
      } finally {
        this.#unlock(release);
      }
    } finally {
      if (reserved > 0) this.#index.release(reserved);
      this.#changed.notify();
      this.#report();
    }
    await syncDir(this.#fs, this.#layout.shardOf(id));
  }

  async #remove(id: BlockId): Promise<void> {
    const release = await this.#locks.acquire(id);
    try {
      const entry = this.#index.get(id);
      if (entry === undefined) return;
      await removeFile(this.#fs, this.#layout.blockPath(id));
      this.#index.remove(id, entry);
    } finally {
      this.#unlock(release);
      this.#report();
    }
  }

  /** Reserves `size` bytes, evicting when they are not free. Fast path: no I/O, no await. */
  async #reserve(size: number, signal: AbortSignal | undefined): Promise<void> {
    if (!this.#roomLock.isHeld(ROOM) && this.#index.reserve(size)) return;
    const release = await this.#roomLock.acquire(ROOM);
    try {
      while (!this.#index.reserve(size)) {
        guardOp(TIER, this.#closed, { signal });
        await this.#makeRoom(size - this.#index.free, signal);
      }
    } finally {
      release();
    }
  }

  /** Evicts least-recently-used unlocked blocks covering `deficit` bytes, or waits for one to become free. */
  async #makeRoom(deficit: number, signal: AbortSignal | undefined): Promise<void> {
    const victims = this.#lockVictims(deficit);
    if (victims.length === 0) return this.#changed.next(signal);
    const results = await Promise.allSettled(victims.map((v) => this.#evict(v)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /** Picks and locks victims in one synchronous step, so no put or delete can slip in. */
  #lockVictims(deficit: number): Victim[] {
    return this.#index.victims(deficit, (id) => this.#locks.isHeld(id)).flatMap(([id, entry]) => {
      const release = this.#locks.tryAcquire(id);
      return release === undefined ? [] : [{ id, entry, release }];
    });
  }

  /** Hands the verified block to onEvict, awaited, and only then deletes the file. */
  async #evict({ id, entry, release }: Victim): Promise<void> {
    try {
      const found = await readBlockFile(this.#fs, this.#layout.blockPath(id));
      if (typeof found === "string") return await this.#drop(id, entry, found);
      await runEvictionHandler(this.#options.onEvict, id, found, this.#onError);
      await removeFile(this.#fs, this.#layout.blockPath(id));
      this.#index.remove(id, entry);
    } finally {
      this.#unlock(release);
      this.#report();
    }
  }

  /** Forgets a copy that vanished or failed to verify (caller holds the id's lock). */
  async #drop(id: BlockId, entry: IndexEntry, why: "missing" | "corrupt"): Promise<void> {
    if (why === "corrupt") this.#metrics.checksumFailures.inc({ tier: TIER });
    // Replaced by a newer write since it was read: that file is not the bad one.
    if (this.#index.get(id) !== entry) return;
    if (why === "corrupt") await removeFile(this.#fs, this.#layout.blockPath(id));
    this.#index.remove(id, entry);
    this.#report();
    this.#reportLost(id);
  }

  /** A copy is gone without being evicted: count the move and tell the owner. */
  #reportLost(id: BlockId): void {
    this.#metrics.blockMoves.inc({ from: TIER, to: "none", reason: "corrupt" });
    notifyCorrupt(this.#options.onCorrupt, id, this.#onError);
  }

  #unlock(release: () => void): void {
    release();
    this.#changed.notify();
  }

  /** Lets close() wait for the operation, and counts its I/O failures. */
  #track<T>(work: Promise<T>): Promise<T> {
    work.catch((err: unknown) => {
      if (isKvCacheError(err, ErrorCode.TIER_IO)) this.#metrics.backendErrors.inc({ backend: TIER, code: errorCodeOf(err) });
    });
    return this.#inflight.track(work);
  }

  #counted(block: Block | undefined): Block | undefined {
    return countRead(this.#metrics, TIER, block);
  }

  #report(): void {
    this.#metrics.reportTier(TIER, this.stats());
  }
}
