import { compareBytes } from "./bytes.js";
import type { RangeEntry } from "./longest-prefix.js";

/**
 * An ordered byte-key map: a sorted array with binary search. Lookups and range
 * reads are O(log n); inserts and deletes shift the array, O(n), which stays
 * cheap up to the ~100k keys of one embedded namespace. Keys are copied on
 * insert, so callers may reuse their buffers.
 */
export class SortedKeySpace<V> {
  private readonly keys: Buffer[] = [];
  private readonly values: V[] = [];

  get size(): number {
    return this.keys.length;
  }

  get(key: Uint8Array): V | undefined {
    const i = this.lowerBound(key);
    return i < this.keys.length && compareBytes(this.keys[i]!, key) === 0 ? this.values[i] : undefined;
  }

  /** Stores `value` under `key`; returns the value it replaced. */
  set(key: Uint8Array, value: V): V | undefined {
    const i = this.lowerBound(key);
    if (i < this.keys.length && compareBytes(this.keys[i]!, key) === 0) {
      const previous = this.values[i];
      this.values[i] = value;
      return previous;
    }
    this.keys.splice(i, 0, Buffer.from(key));
    this.values.splice(i, 0, value);
    return undefined;
  }

  /** Removes `key`; returns its value, or undefined when absent. */
  delete(key: Uint8Array): V | undefined {
    const i = this.lowerBound(key);
    if (i >= this.keys.length || compareBytes(this.keys[i]!, key) !== 0) return undefined;
    const previous = this.values[i];
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
    return previous;
  }

  /** Up to `limit` entries with lower <= key <= upper, in descending key order. */
  descending(upperInclusive: Uint8Array, lowerInclusive: Uint8Array, limit: number): RangeEntry<V>[] {
    const out: RangeEntry<V>[] = [];
    for (let i = this.upperBound(upperInclusive) - 1; i >= 0 && out.length < limit; i--) {
      const key = this.keys[i]!;
      if (compareBytes(key, lowerInclusive) < 0) break;
      out.push({ key, value: this.values[i]! });
    }
    return out;
  }

  /** Up to `limit` entries with key > `after` (from the start when undefined), ascending. */
  ascendingAfter(after: Uint8Array | undefined, limit: number): RangeEntry<V>[] {
    const out: RangeEntry<V>[] = [];
    for (let i = after === undefined ? 0 : this.upperBound(after); i < this.keys.length && out.length < limit; i++) {
      out.push({ key: this.keys[i]!, value: this.values[i]! });
    }
    return out;
  }

  /** First index whose key is >= `key`. */
  private lowerBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose key is > `key`. */
  private upperBound(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.keys[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
