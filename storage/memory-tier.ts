import { LRUCache } from "lru-cache";
import type { Block, BlockId } from "../src/block.js";
import { checksumMatches } from "../src/checksum.js";
import { CacheMetrics } from "../src/metrics.js";
import type { BlockTier, CorruptionHandler, EvictionHandler, TierOptions, TierStats } from "./block-tier.js";
import { assertCapacity, assertStorable, countRead, deleteEach, getEach, guardBatch, guardIdOp, guardOp, notifyCorrupt, runEvictionHandler } from "./tier-support.js";

export interface MemoryTierOptions {
  /** Payload bytes the tier may hold. A positive integer. */
  readonly capacityBytes: number;
  /**
   * Told about every block evicted for capacity, synchronously before `put`
   * resolves. Caller deletes and overwrites are not evictions and are not reported.
   */
  readonly onEvict?: EvictionHandler;
  /** Told after a block that failed its checksum on get was dropped (the get is a miss). */
  readonly onCorrupt?: CorruptionHandler;
  /** Receives what `onEvict` or `onCorrupt` threw or rejected with (otherwise dropped, never unhandled). */
  readonly onError?: (err: unknown) => void;
  readonly metrics?: CacheMetrics;
}

/**
 * A fresh wrapper per put: lru-cache only disposes the old value on overwrite when
 * the new value is a different object, and the byte accounting relies on that.
 */
interface Entry {
  readonly block: Block;
}

const TIER = "memory";

/**
 * The memory tier: a byte-capacity LRU over `lru-cache`. Blocks are kept as given,
 * never copied (see {@link Block} for buffer ownership); the checksum is verified on
 * every get, so a buffer someone mutated after handing it over is dropped, not served.
 */
export class MemoryTier implements BlockTier {
  readonly name = TIER;
  readonly #capacity: number;
  readonly #cache: LRUCache<BlockId, Entry>;
  readonly #options: MemoryTierOptions;
  readonly #metrics: CacheMetrics;
  /** Evictions seen inside lru-cache's dispose, reported once `set` has returned. */
  #evicted: [BlockId, Block][] = [];
  #bytes = 0;
  #closed = false;
  readonly #onError = (err: unknown): void => this.#options.onError?.(err);

  constructor(options: MemoryTierOptions) {
    assertCapacity(TIER, options.capacityBytes);
    this.#capacity = options.capacityBytes;
    this.#options = options;
    this.#metrics = options.metrics ?? new CacheMetrics();
    this.#cache = new LRUCache<BlockId, Entry>({
      maxSize: options.capacityBytes,
      // lru-cache refuses size 0, so an empty block is charged one byte: the cache's
      // own total stays >= the payload bytes, which keeps stats() within capacity.
      sizeCalculation: (entry) => Math.max(1, entry.block.data.byteLength),
      dispose: (entry, id, reason) => this.#disposed(entry, id, reason),
    });
    this.#report();
  }

  async get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    guardIdOp(TIER, this.#closed, id, options);
    const entry = this.#cache.get(id);
    return countRead(this.#metrics, TIER, entry === undefined ? undefined : this.#verified(id, entry.block));
  }

  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    assertStorable(TIER, block, this.#capacity);
    this.#store(id, block);
  }

  async has(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closed, id, options);
    return this.#cache.has(id);
  }

  async delete(id: BlockId, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    this.#cache.delete(id);
    this.#report();
  }

  async getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    guardOp(TIER, this.#closed, options);
    return getEach(this, ids, options);
  }

  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    guardBatch(TIER, this.#closed, entries, this.#capacity, options);
    for (const [id, block] of entries) this.#store(id, block);
  }

  async deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void> {
    guardOp(TIER, this.#closed, options);
    await deleteEach(this, ids, options);
  }

  async *ids(options?: TierOptions): AsyncIterable<BlockId> {
    guardOp(TIER, this.#closed, options);
    // A snapshot: the caller may delete while iterating.
    yield* [...this.#cache.keys()];
  }

  stats(): TierStats {
    return { items: this.#cache.size, bytes: this.#bytes, capacityBytes: this.#capacity };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    this.#report();
  }

  #store(id: BlockId, block: Block): void {
    this.#cache.set(id, { block });
    this.#bytes += block.data.byteLength;
    const evicted = this.#evicted;
    this.#evicted = [];
    for (const [victim, data] of evicted) {
      // Not awaited: memory eviction is synchronous; the handler's own work (a
      // demotion to disk) proceeds on its own, its failure goes to onError.
      void runEvictionHandler(this.#options.onEvict, victim, data, this.#onError);
    }
    this.#report();
  }

  /** The block if it still matches its checksum; otherwise drops and counts it. */
  #verified(id: BlockId, block: Block): Block | undefined {
    if (checksumMatches(block.data, block.checksum)) return block;
    this.#cache.delete(id);
    this.#metrics.checksumFailures.inc({ tier: TIER });
    this.#metrics.blockMoves.inc({ from: TIER, to: "none", reason: "corrupt" });
    this.#report();
    notifyCorrupt(this.#options.onCorrupt, id, this.#onError);
    return undefined;
  }

  #disposed(entry: Entry, id: BlockId, reason: LRUCache.DisposeReason): void {
    this.#bytes -= entry.block.data.byteLength;
    // Calling the handler here would re-enter the caller mid-eviction, inside lru-cache.
    if (reason === "evict") this.#evicted.push([id, entry.block]);
  }

  #report(): void {
    this.#metrics.reportTier(TIER, this.stats());
  }
}
