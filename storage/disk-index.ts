import type { BlockId } from "../src/block.js";

/** One block file the disk tier holds. A new object per write, so callers can tell versions apart. */
export interface IndexEntry {
  readonly size: number;
}

/**
 * The disk tier's in-memory view of its files: recency order and byte accounting.
 * `bytes` counts committed block payloads; `reserved` counts puts in flight. Room
 * is reserved synchronously before any I/O, so parallel puts can never overshoot:
 * bytes + reserved <= capacity holds outside of warm-restart loading.
 */
export class DiskIndex {
  /** Map order is recency: least recently used first. */
  readonly #entries = new Map<BlockId, IndexEntry>();
  #bytes = 0;
  #reserved = 0;

  constructor(readonly capacityBytes: number) {}

  get items(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Room not yet committed nor reserved (negative while a restart loads more than fits). */
  get free(): number {
    return this.capacityBytes - this.#bytes - this.#reserved;
  }

  get(id: BlockId): IndexEntry | undefined {
    return this.#entries.get(id);
  }

  /** Marks `id` most recently used. */
  touch(id: BlockId): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  /** Reserves `size` bytes if they are free now. */
  reserve(size: number): boolean {
    if (size > this.free) return false;
    this.#reserved += size;
    return true;
  }

  release(size: number): void {
    this.#reserved -= size;
  }

  /** Records a written block as most recent, replacing any older version, and consumes its reservation. */
  commit(id: BlockId, size: number, reserved: number): void {
    const old = this.#entries.get(id);
    if (old !== undefined) this.remove(id, old);
    this.#entries.set(id, { size });
    this.#bytes += size;
    this.#reserved -= reserved;
  }

  /** Adds a block found on disk at open, unreserved; callers add oldest first. */
  load(id: BlockId, size: number): void {
    this.#entries.set(id, { size });
    this.#bytes += size;
  }

  /** Drops `id` if its entry is still `entry` (not replaced meanwhile); true when it did. */
  remove(id: BlockId, entry: IndexEntry): boolean {
    if (this.#entries.get(id) !== entry) return false;
    this.#entries.delete(id);
    this.#bytes -= entry.size;
    return true;
  }

  /** Least recently used entries, skipping busy ids, until their sizes cover `bytes` (or none are left). */
  victims(bytes: number, busy: (id: BlockId) => boolean): [BlockId, IndexEntry][] {
    const out: [BlockId, IndexEntry][] = [];
    let covered = 0;
    for (const [id, entry] of this.#entries) {
      if (covered >= bytes) break;
      if (busy(id)) continue;
      out.push([id, entry]);
      covered += entry.size;
    }
    return out;
  }

  /** A snapshot of the ids. */
  ids(): BlockId[] {
    return [...this.#entries.keys()];
  }
}
