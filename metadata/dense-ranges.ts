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

  /** Records what one range spanned: `keysInRange` keys from `lower` (an etcd key) up. */
  note(lower: Uint8Array, keysInRange: number): void {
    if (keysInRange > this.threshold) this.#seen.set(asString(lower), true);
  }

  /** True when a range from `lower` was found dense within the entries' lifetime. */
  has(lower: Uint8Array): boolean {
    return this.#seen.has(asString(lower));
  }
}

function asString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}
