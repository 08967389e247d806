import type { Block, BlockId } from "../src/block.js";
import { checksumMatches } from "../src/checksum.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { CacheMetrics } from "../src/metrics.js";
import { BufferPool } from "../src/buffer-pool.js";
import { readFully, writeFully } from "../src/positional-io.js";
import { directorySlots } from "../src/shared-directory.js";
import { SHARED_HEADER_BYTES, sharedBlocksOffset, type SharedMemoryFile } from "../src/shared-memory-file.js";
import type { BlockTier, CorruptionHandler, EvictionHandler, TierOptions, TierStats } from "./block-tier.js";
import type { Extent } from "./extent-allocator.js";
import { InFlight } from "./in-flight.js";
import { createSharedFile, removeSharedFile, sharedFileError } from "./shared-file-lifecycle.js";
import { SharedDirectoryWriter } from "./shared-directory-writer.js";
import { SharedIndex } from "./shared-index.js";
import { SharedLeases, type SharedEntry } from "./shared-leases.js";
import { assertCapacity, assertStorable, assertStorableSize, countRead, deleteEach, getEach, guardBatch, guardIdOp, guardOp, notifyCorrupt, putEach, runEvictionHandler } from "./tier-support.js";

export interface SharedMemoryTierOptions {
  /** Payload bytes the tier may hold. A positive integer; the file is this plus a 4 KiB header. */
  readonly capacityBytes: number;
  /** An existing directory on a memory file system (tmpfs), e.g. /dev/shm. */
  readonly directory: string;
  /** How long a {@link SharedMemoryTier.locate} keeps its block's bytes in place without a release (default 5000 ms). */
  readonly leaseMs?: number;
  /** Told about every block evicted for capacity, with its bytes, before the put that displaced it resolves. */
  readonly onEvict?: EvictionHandler;
  readonly onCorrupt?: CorruptionHandler;
  readonly onError?: (err: unknown) => void;
  readonly metrics?: CacheMetrics;
  /** Where {@link SharedMemoryTier.lend} takes its buffers (default: a pool of its own holding up to 64 MiB). */
  readonly pool?: BufferPool;
  /** Milliseconds clock for leases (tests inject one). */
  readonly now?: () => number;
}

/** A block read into a pooled buffer: give the buffer back with `release()` once done with it. */
export interface LentBlock {
  readonly block: Block;
  readonly release: () => void;
}

/** Where a located block's bytes are in the shared file, held in place until the lease is released or expires. */
export interface SharedLocation {
  /** Offset in the file (header included). */
  readonly offset: number;
  readonly length: number;
  readonly checksum: number;
  readonly tag?: Uint8Array;
  readonly lease: number;
}

/** Puts of one id in flight, and the sequence number of the last put or delete of it called. */
interface Pending {
  latest: number;
  writers: number;
}

const TIER = "memory";
const DEFAULT_LEASE_MS = 5000;
const DEFAULT_POOL_BYTES = 64 * 1024 * 1024;

/**
 * The memory tier in a shared file on tmpfs: the same byte-capacity LRU as
 * {@link MemoryTier}, but the bytes live in one file carved into extents
 * ({@link ExtentAllocator}), so an SDK on the same host can find a block in
 * the file's directory (or by a LOCATE) and read it with one pread, with no copy
 * through the TCP stack, and the node's memory is reused across blocks instead
 * of freshly touched per put.
 *
 * - A put reserves an extent (evicting least-recently-used blocks until one
 *   fits), writes, then publishes; it is never visible half-written, and among
 *   puts and deletes of one id the last one called wins.
 * - An evicted block stays readable until its bytes are read back and handed to
 *   `onEvict`, so it is never in no tier at all.
 * - An extent is reused only when nobody reads it: gets pin it while they read,
 *   a located block is pinned until its lease is released or expires, and a
 *   block is unlisted from the directory before its extent is freed (clients
 *   reading through the directory see the change and ask again).
 * - Every get verifies the checksum; an SDK reading a located block verifies it too.
 */
export class SharedMemoryTier implements BlockTier {
  readonly name = TIER;
  readonly file: SharedMemoryFile;
  readonly #fd: number;
  /** Where the block region starts in the file (after the header and the directory). */
  readonly #base: number;
  readonly #directory: SharedDirectoryWriter;
  readonly #capacity: number;
  readonly #options: SharedMemoryTierOptions;
  readonly #metrics: CacheMetrics;
  readonly #index: SharedIndex;
  readonly #leases: SharedLeases;
  readonly #pool: BufferPool;
  readonly #inFlight = new InFlight();
  /** Ids with puts in flight: only the put called last publishes, unless a delete was called after it. */
  readonly #pending = new Map<BlockId, Pending>();
  #sequence = 0;
  #reserving: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;
  readonly #onError = (err: unknown): void => this.#options.onError?.(err);

  private constructor(options: SharedMemoryTierOptions, file: SharedMemoryFile, fd: number, slots: number) {
    this.#options = options;
    this.#capacity = options.capacityBytes;
    this.file = file;
    this.#fd = fd;
    this.#base = sharedBlocksOffset(slots);
    this.#directory = new SharedDirectoryWriter(fd, SHARED_HEADER_BYTES, slots);
    this.#metrics = options.metrics ?? new CacheMetrics();
    this.#index = new SharedIndex(options.capacityBytes, () => this.#report(), {
      list: (entry) => this.#directory.list({ id: entry.id, offset: this.#base + entry.extent.offset, length: entry.length, checksum: entry.checksum }),
      unlist: (id) => this.#directory.unlist(id),
    });
    this.#pool = options.pool ?? new BufferPool(DEFAULT_POOL_BYTES);
    this.#leases = new SharedLeases({ leaseMs: options.leaseMs ?? DEFAULT_LEASE_MS, now: options.now ?? Date.now, unpin: (entry) => this.#index.unpin(entry) });
    this.#report();
  }

  /** Creates the tier's file in `directory` (removing files left there by dead processes). */
  static async open(options: SharedMemoryTierOptions): Promise<SharedMemoryTier> {
    assertCapacity(TIER, options.capacityBytes);
    const slots = directorySlots(options.capacityBytes);
    const { file, fd } = await createSharedFile(options.directory, options.capacityBytes, slots);
    return new SharedMemoryTier(options, file, fd, slots);
  }

  async get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    guardIdOp(TIER, this.#closed, id, options);
    const entry = this.#index.touch(id);
    if (entry === undefined) return countRead(this.#metrics, TIER, undefined);
    return this.#inFlight.track(this.#read(entry, Buffer.allocUnsafe(entry.length)));
  }

  /**
   * A get into a buffer from the pool, for bytes passing through (a GET reply
   * on its way to a socket): `release()` returns the buffer, and nothing may
   * use the block's data after it. Undefined on a miss, which is not counted:
   * the caller goes on to a get (of the tiered store) that counts it.
   */
  async lend(id: BlockId, options?: TierOptions): Promise<LentBlock | undefined> {
    guardIdOp(TIER, this.#closed, id, options);
    const entry = this.#index.touch(id);
    if (entry === undefined) return undefined;
    const into = this.#pool.take(entry.length);
    const block = await this.#inFlight.track(this.#read(entry, into).catch((err: unknown) => {
      this.#pool.give(into);
      throw err;
    }));
    if (block === undefined) {
      this.#pool.give(into);
      return undefined;
    }
    return { block, release: () => this.#pool.give(into) };
  }

  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    assertStorable(TIER, block, this.#capacity);
    const pending = this.#pending.get(id) ?? { latest: 0, writers: 0 };
    this.#pending.set(id, pending);
    pending.writers++;
    pending.latest = ++this.#sequence;
    return this.#inFlight.track(this.#write(id, block, pending, pending.latest));
  }

  async has(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closed, id, options);
    return this.#index.get(id) !== undefined;
  }

  async delete(id: BlockId, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    // A put of this id still writing loses to this later delete.
    const pending = this.#pending.get(id);
    if (pending !== undefined) pending.latest = ++this.#sequence;
    const entry = this.#index.get(id);
    if (entry !== undefined) this.#index.remove(entry);
  }

  async getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    guardOp(TIER, this.#closed, options);
    return getEach(this, ids, options);
  }

  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    guardBatch(TIER, this.#closed, entries, this.#capacity, options);
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
    return { items: this.#index.items, bytes: this.#index.bytes, capacityBytes: this.#capacity };
  }

  /**
   * Where block `id`'s bytes are, pinned there under a new lease (counted as a
   * read of this tier); undefined when the block is not in this tier.
   */
  locate(id: BlockId): SharedLocation | undefined {
    guardIdOp(TIER, this.#closed, id, undefined);
    const entry = this.#index.touch(id);
    if (entry === undefined) return void countRead(this.#metrics, TIER, undefined);
    entry.pins++;
    const lease = this.#leases.grant(entry);
    this.#countHit(entry);
    const where = { offset: this.#base + entry.extent.offset, length: entry.length, checksum: entry.checksum, lease };
    return entry.tag === undefined ? where : { ...where, tag: entry.tag };
  }

  /**
   * Space for a block a same-host client writes into the file itself, held
   * under a lease (evicting for it as a put would). The block exists only once
   * {@link commit} publishes it; a lease that expires first frees the space.
   */
  async reserve(id: BlockId, length: number, checksum: number, tag: Uint8Array | undefined, options?: TierOptions): Promise<SharedLocation> {
    guardIdOp(TIER, this.#closed, id, options);
    assertStorableSize(TIER, length, tag?.byteLength ?? 0, this.#capacity);
    const extent = await this.#inFlight.track(this.#reserve(Math.max(1, length)));
    if (this.#closed) {
      this.#index.free(extent);
      throw new KvCacheError(ErrorCode.CLOSED, `${TIER} tier is closed`, { details: { tier: TIER } });
    }
    // Not in the index and pinned by its lease: freed when the lease ends, unless committed.
    const entry: SharedEntry = { id, length, extent, checksum, tag, pins: 1, gone: true, evicting: false };
    const lease = this.#leases.grant(entry);
    const where = { offset: this.#base + extent.offset, length, checksum, lease };
    return tag === undefined ? where : { ...where, tag };
  }

  /**
   * Publishes a reservation whose bytes the client has written, as a put of
   * its block would (replacing an older copy of the id). The bytes are not
   * read here: like every block's, they are verified on every read.
   * Throws ERR_INVALID_ARGUMENT when the lease is unknown (it expired, or is
   * not a reservation of `id`): the client then sends a PUT instead.
   */
  commit(id: BlockId, lease: number): void {
    guardIdOp(TIER, this.#closed, id, undefined);
    const entry = this.#leases.take(lease);
    if (entry === undefined || entry.id !== id || !entry.gone) {
      if (entry !== undefined) this.#index.unpin(entry);
      throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `no reservation ${lease} of block ${id} (it expired, or was never made)`, { details: { tier: TIER, blockId: id, lease } });
    }
    const pending = this.#pending.get(id);
    if (pending !== undefined) pending.latest = ++this.#sequence;
    entry.pins--;
    this.#index.publish(entry);
  }

  /**
   * Blocks a same-host client read straight from the file (found through the
   * directory, no LOCATE): each becomes the most recently used, and is counted
   * as a hit of this tier. Ids no longer here are ignored.
   */
  touch(ids: readonly BlockId[]): void {
    for (const id of ids) {
      const entry = this.#index.touch(id);
      if (entry !== undefined) this.#countHit(entry);
    }
  }

  /** Ends a lease {@link locate} granted; false when it was unknown (already released or expired). */
  release(lease: number): boolean {
    return this.#leases.release(lease);
  }

  /** Waits for reads and writes in flight, then removes the file. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  get #closed(): boolean {
    return this.#closing !== undefined;
  }

  async #shutdown(): Promise<void> {
    this.#index.space.notify();
    await this.#inFlight.drain();
    this.#leases.clear();
    this.#index.clear();
    await removeSharedFile({ file: this.file, fd: this.#fd }, this.#onError);
  }

  async #read(entry: SharedEntry, into: Buffer): Promise<Block | undefined> {
    const data = await this.#bytesOf(entry, into);
    if (!checksumMatches(data, entry.checksum)) {
      this.#dropCorrupt(entry);
      return countRead(this.#metrics, TIER, undefined);
    }
    return countRead(this.#metrics, TIER, entry.tag === undefined ? { data, checksum: entry.checksum } : { data, checksum: entry.checksum, tag: entry.tag });
  }

  /** The entry's bytes, read into `into` (exactly its length) while its extent is pinned. */
  async #bytesOf(entry: SharedEntry, into: Buffer): Promise<Buffer> {
    entry.pins++;
    try {
      await readFully(this.#fd, into, this.#base + entry.extent.offset);
      return into;
    } catch (err) {
      throw sharedFileError("read", this.file.path, err);
    } finally {
      this.#index.unpin(entry);
    }
  }

  async #write(id: BlockId, block: Block, pending: Pending, sequence: number): Promise<void> {
    try {
      const extent = await this.#reserve(Math.max(1, block.data.byteLength));
      try {
        await writeFully(this.#fd, block.data, this.#base + extent.offset);
      } catch (err) {
        this.#index.free(extent);
        throw sharedFileError("write", this.file.path, err);
      }
      // A later put or delete of this id was called while this one wrote: that one wins.
      if (pending.latest !== sequence || this.#closed) this.#index.free(extent);
      else this.#publish(id, block, extent);
    } finally {
      if (--pending.writers === 0) this.#pending.delete(id);
    }
  }

  #publish(id: BlockId, block: Block, extent: Extent): void {
    this.#index.publish({ id, length: block.data.byteLength, extent, checksum: block.checksum, tag: block.tag, pins: 0, gone: true, evicting: false });
  }

  /** Space for `length` bytes, one reservation at a time so concurrent puts do not evict for each other twice. */
  #reserve(length: number): Promise<Extent> {
    const run = this.#reserving.then(() => this.#makeRoom(length));
    this.#reserving = run.catch(() => undefined);
    return run;
  }

  async #makeRoom(length: number): Promise<Extent> {
    for (;;) {
      if (this.#closed) throw new KvCacheError(ErrorCode.CLOSED, `${TIER} tier is closed`, { details: { tier: TIER } });
      const extent = this.#index.allocate(length);
      if (extent !== undefined) return extent;
      const victim = this.#index.leastRecent();
      if (victim !== undefined) {
        await this.#evict(victim);
        continue;
      }
      // What is left is being written, read or leased: wait for a release, or for the next lease to expire.
      if (this.#leases.expire() > 0) continue;
      await this.#leases.untilReleaseOrExpiry(this.#index.space.next());
    }
  }

  /** Reads the victim back, then drops it and hands its bytes to onEvict in the same tick (never in no tier). */
  async #evict(victim: SharedEntry): Promise<void> {
    victim.evicting = true;
    let data: Buffer | undefined;
    try {
      data = await this.#bytesOf(victim, Buffer.allocUnsafe(victim.length));
    } catch (err) {
      this.#onError(err);
    }
    if (!this.#index.isCurrent(victim)) return; // deleted or replaced meanwhile: not an eviction
    if (data === undefined || !checksumMatches(data, victim.checksum)) {
      this.#dropCorrupt(victim);
      return;
    }
    this.#index.remove(victim);
    const block: Block = victim.tag === undefined ? { data, checksum: victim.checksum } : { data, checksum: victim.checksum, tag: victim.tag };
    void runEvictionHandler(this.#options.onEvict, victim.id, block, this.#onError);
  }

  #dropCorrupt(entry: SharedEntry): void {
    if (!this.#index.isCurrent(entry)) return;
    this.#index.remove(entry);
    this.#metrics.checksumFailures.inc({ tier: TIER });
    this.#metrics.blockMoves.inc({ from: TIER, to: "none", reason: "corrupt" });
    notifyCorrupt(this.#options.onCorrupt, entry.id, this.#onError);
  }

  /** A block a client reads in the file itself (no bytes pass through this process). */
  #countHit(entry: SharedEntry): void {
    this.#metrics.tierHits.inc({ tier: TIER });
    this.#metrics.tierHitBytes.inc({ tier: TIER }, entry.length);
  }

  #report(): void {
    this.#metrics.reportTier(TIER, this.stats());
  }
}
