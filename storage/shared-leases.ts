import type { BlockId } from "../src/block.js";
import type { Extent } from "./extent-allocator.js";

/** A block of the shared memory tier: where its bytes are, and who still reads them. */
export interface SharedEntry {
  readonly id: BlockId;
  /** Payload bytes; the extent is at least 1 byte, so even empty blocks count against capacity. */
  readonly length: number;
  readonly extent: Extent;
  readonly checksum: number;
  readonly tag: Uint8Array | undefined;
  /** Reads in progress plus live leases: the extent is not reused while this is above 0. */
  pins: number;
  /** Out of the index (deleted, replaced, evicted, corrupt): the extent is freed when pins reach 0. */
  gone: boolean;
  /** Being read back for eviction: not chosen as a victim again. */
  evicting: boolean;
}

export interface SharedLeasesOptions {
  readonly leaseMs: number;
  readonly now: () => number;
  /** Drops the pin a lease held (the tier frees the extent of a gone entry at 0). */
  readonly unpin: (entry: SharedEntry) => void;
}

/** Past this many live leases, granting one first ends the expired ones: a client that never releases costs bounded memory. */
const SWEEP_AT = 4096;

/**
 * Leases on located blocks: a client that read a block's bytes in place
 * releases its lease; one that never does (it crashed, it hung) loses it after
 * `leaseMs`, so an extent is never held forever. Leases all last the same time,
 * so insertion order is expiry order.
 */
export class SharedLeases {
  readonly #options: SharedLeasesOptions;
  readonly #leases = new Map<number, { entry: SharedEntry; expiresAt: number }>();
  #next = 1;

  constructor(options: SharedLeasesOptions) {
    if (!Number.isSafeInteger(options.leaseMs) || options.leaseMs <= 0) throw new RangeError(`leaseMs must be a positive integer; got ${options.leaseMs}`);
    this.#options = options;
  }

  get size(): number {
    return this.#leases.size;
  }

  /** A new lease (a u32, never 0) on an entry the caller has already pinned. */
  grant(entry: SharedEntry): number {
    if (this.#leases.size >= SWEEP_AT) this.expire();
    let lease = this.#next;
    while (this.#leases.has(lease)) lease = (lease % 0xffffffff) + 1;
    this.#next = (lease % 0xffffffff) + 1;
    this.#leases.set(lease, { entry, expiresAt: this.#options.now() + this.#options.leaseMs });
    return lease;
  }

  /** Ends a lease; false when it was unknown (released already, or expired). */
  release(lease: number): boolean {
    const held = this.#leases.get(lease);
    if (held === undefined) return false;
    this.#leases.delete(lease);
    this.#options.unpin(held.entry);
    return true;
  }

  /** Ends a lease without dropping its pin, which passes to the caller: the entry, or undefined when the lease is unknown. */
  take(lease: number): SharedEntry | undefined {
    const held = this.#leases.get(lease);
    if (held === undefined) return undefined;
    this.#leases.delete(lease);
    return held.entry;
  }

  /** Ends every expired lease; returns how many. */
  expire(): number {
    const now = this.#options.now();
    let ended = 0;
    for (const [lease, held] of this.#leases) {
      if (held.expiresAt > now) break;
      this.#leases.delete(lease);
      this.#options.unpin(held.entry);
      ended++;
    }
    return ended;
  }

  /** Resolves when `released` does, or when the oldest lease expires, whichever is first. */
  async untilReleaseOrExpiry(released: Promise<void>): Promise<void> {
    const oldest = this.#leases.values().next().value;
    if (oldest === undefined) return released;
    let timer: NodeJS.Timeout | undefined;
    const expiry = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, oldest.expiresAt - this.#options.now()) + 1)));
    try {
      await Promise.race([released, expiry]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Forgets every lease without unpinning (the tier is closing). */
  clear(): void {
    this.#leases.clear();
  }
}
