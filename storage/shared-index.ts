import type { BlockId } from "../src/block.js";
import { ChangeSignal } from "./change-signal.js";
import { ExtentAllocator, type Extent } from "./extent-allocator.js";
import type { SharedEntry } from "./shared-leases.js";

/** Where the index lists its published blocks for clients (the file's directory, see SharedDirectoryWriter). */
export interface EntryListing {
  list(entry: SharedEntry): void;
  /** Done before the entry's extent can be freed. */
  unlist(id: BlockId): void;
}

/**
 * The shared memory tier's bookkeeping, with no I/O of its own: which blocks
 * are published where (least recently used first), the byte total, and the
 * extents of the file. Every published block is listed (`listing`) until it
 * is removed. An extent goes back to the allocator only when its entry is
 * gone (out of the index, unlisted) and nobody pins it (a read, a lease);
 * every release of space and every publish wakes {@link space} waiters.
 */
export class SharedIndex {
  readonly space = new ChangeSignal();
  readonly #allocator: ExtentAllocator;
  readonly #entries = new Map<BlockId, SharedEntry>();
  readonly #onChange: () => void;
  readonly #listing: EntryListing | undefined;
  #bytes = 0;

  /** `onChange` is told after every change of items or bytes (the tier reports its gauges). */
  constructor(capacityBytes: number, onChange: () => void, listing?: EntryListing) {
    this.#allocator = new ExtentAllocator(capacityBytes);
    this.#onChange = onChange;
    this.#listing = listing;
  }

  get items(): number {
    return this.#entries.size;
  }

  /** Payload bytes of the published blocks. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The published entry of `id`. */
  get(id: BlockId): SharedEntry | undefined {
    return this.#entries.get(id);
  }

  /** Whether `entry` is what `id` is published as now (not replaced, deleted or evicted). */
  isCurrent(entry: SharedEntry): boolean {
    return this.#entries.get(entry.id) === entry;
  }

  /** A snapshot: the caller may change the index while going through it. */
  ids(): BlockId[] {
    return [...this.#entries.keys()];
  }

  /** The published entry of `id`, now the most recently used (one being evicted keeps its place). */
  touch(id: BlockId): SharedEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry !== undefined && !entry.evicting) {
      this.#entries.delete(id);
      this.#entries.set(id, entry);
    }
    return entry;
  }

  /** The least recently used entry not already being evicted. */
  leastRecent(): SharedEntry | undefined {
    for (const entry of this.#entries.values()) if (!entry.evicting) return entry;
    return undefined;
  }

  allocate(length: number): Extent | undefined {
    return this.#allocator.allocate(length);
  }

  /** Makes `entry` what its id is published as, replacing (removing) an older one. */
  publish(entry: SharedEntry): void {
    const old = this.#entries.get(entry.id);
    if (old !== undefined) this.remove(old);
    entry.gone = false;
    this.#entries.set(entry.id, entry);
    this.#listing?.list(entry);
    this.#bytes += entry.length;
    this.#onChange();
    // A reservation waiting for room may now evict this block.
    this.space.notify();
  }

  /** Takes the entry out of the index; its extent is freed once nobody pins it. */
  remove(entry: SharedEntry): void {
    if (this.isCurrent(entry)) {
      this.#entries.delete(entry.id);
      this.#listing?.unlist(entry.id);
    }
    entry.gone = true;
    this.#bytes -= entry.length;
    if (entry.pins === 0) this.free(entry.extent);
    this.#onChange();
  }

  unpin(entry: SharedEntry): void {
    entry.pins--;
    if (entry.gone && entry.pins === 0) this.free(entry.extent);
  }

  /** Returns an extent no entry uses (a write that failed or lost, a reservation that lapsed). */
  free(extent: Extent): void {
    this.#allocator.release(extent);
    this.space.notify();
  }

  /** Forgets everything (the tier is closing). */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
    this.#onChange();
  }
}
