import { LRUCache } from "lru-cache";

/**
 * The lower ends of lookup ranges lately found to span many keys. etcd 3.4
 * reads and sorts a whole descending range before its limit applies, so such a
 * range costs as much as the keys in it; lookups whose range would start at one
 * of these read their candidate prefixes directly instead (longest-prefix.ts,
 * PointLookup). Soft state, never an answer: forgetting an entry costs one slow
 * range, keeping a stale one costs point reads where a range would have been
 * cheap. Bounded, and entries expire, so a range that thinned out is tried again.
 */
export class DenseRanges {
  readonly #seen: LRUCache<string, true>;

  /** A range is dense when it spans more than `threshold` keys. */
  constructor(private readonly threshold: number, maxEntries = 1024, ttlMs = 60_000) {
    this.#seen = new LRUCache({ max: maxEntries, ttl: ttlMs });
  }

  /** Records what one range spanned: `keysInRange` keys from the etcd key `space` + `lower` up. */
  note(space: Uint8Array, lower: Uint8Array, keysInRange: number): void {
    if (keysInRange > this.threshold) this.#seen.set(keyOf(space, lower), true);
  }

  /** True when a range from `space` + `lower` was found dense within the entries' lifetime. */
  has(space: Uint8Array, lower: Uint8Array): boolean {
    // The usual case, nothing dense: no key is built on the lookup path.
    return this.#seen.size > 0 && this.#seen.has(keyOf(space, lower));
  }
}

function keyOf(space: Uint8Array, lower: Uint8Array): string {
  return latin1(space) + latin1(lower);
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
