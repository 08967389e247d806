import { compareBytes } from "./bytes.js";
import type { RangeEntry } from "./longest-prefix.js";

/** Entries per chunk before it splits: inserts shift at most this many slots. */
const MAX_CHUNK = 512;

interface Chunk<V> {
  readonly keys: Buffer[];
  readonly values: V[];
}

/** A position: chunk index and index inside it. `c === chunks.length` is the end. */
interface Position {
  readonly c: number;
  readonly i: number;
}

/**
 * An ordered byte-key map: a list of sorted chunks (a one-level B+-tree), found
 * by binary search over the chunks' last keys, then inside the chunk. Lookups
 * are O(log n); an insert or delete shifts one chunk (<= 512 slots) and rarely
 * the chunk list, so bulk loads of 100k+ keys in random order stay fast (a flat
 * sorted array would shift half the array per insert). Keys are copied on
 * insert, so callers may reuse their buffers.
 */
export class SortedKeySpace<V> {
  private readonly chunks: Chunk<V>[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: Uint8Array): V | undefined {
    const at = this.seek(key, false);
    return this.keyAt(at) !== undefined && compareBytes(this.keyAt(at)!, key) === 0 ? this.chunks[at.c]!.values[at.i] : undefined;
  }

  /** Stores `value` under `key`; returns the value it replaced. */
  set(key: Uint8Array, value: V): V | undefined {
    const at = this.seek(key, false);
    const found = this.keyAt(at);
    if (found !== undefined && compareBytes(found, key) === 0) {
      const chunk = this.chunks[at.c]!;
      const previous = chunk.values[at.i];
      chunk.values[at.i] = value;
      return previous;
    }
    this.insertAt(at, Buffer.from(key), value);
    return undefined;
  }

  /** Removes `key`; returns its value, or undefined when absent. */
  delete(key: Uint8Array): V | undefined {
    const at = this.seek(key, false);
    const found = this.keyAt(at);
    if (found === undefined || compareBytes(found, key) !== 0) return undefined;
    const chunk = this.chunks[at.c]!;
    const [previous] = chunk.values.splice(at.i, 1);
    chunk.keys.splice(at.i, 1);
    if (chunk.keys.length === 0) this.chunks.splice(at.c, 1);
    this.count -= 1;
    return previous;
  }

  /** Up to `limit` entries with lower <= key <= upper, in descending key order. */
  descending(upperInclusive: Uint8Array, lowerInclusive: Uint8Array, limit: number): RangeEntry<V>[] {
    const out: RangeEntry<V>[] = [];
    let { c, i } = this.seek(upperInclusive, true);
    while (out.length < limit) {
      if (--i < 0) {
        if (--c < 0) break;
        i = this.chunks[c]!.keys.length - 1;
      }
      const chunk = this.chunks[c]!;
      if (compareBytes(chunk.keys[i]!, lowerInclusive) < 0) break;
      out.push({ key: chunk.keys[i]!, value: chunk.values[i]! });
    }
    return out;
  }

  /** Up to `limit` entries with key > `after` (from the start when undefined), ascending. */
  ascendingAfter(after: Uint8Array | undefined, limit: number): RangeEntry<V>[] {
    const out: RangeEntry<V>[] = [];
    let { c, i } = after === undefined ? { c: 0, i: 0 } : this.seek(after, true);
    while (out.length < limit && c < this.chunks.length) {
      const chunk = this.chunks[c]!;
      if (i >= chunk.keys.length) {
        [c, i] = [c + 1, 0];
        continue;
      }
      out.push({ key: chunk.keys[i]!, value: chunk.values[i]! });
      i += 1;
    }
    return out;
  }

  /** The first position whose key is >= `key` (or > `key` when `after`). */
  private seek(key: Uint8Array, after: boolean): Position {
    const beyond = (k: Buffer): boolean => (after ? compareBytes(k, key) > 0 : compareBytes(k, key) >= 0);
    const c = firstIndex(this.chunks.length, (n) => beyond(lastKey(this.chunks[n]!)));
    if (c === this.chunks.length) return { c, i: 0 };
    const keys = this.chunks[c]!.keys;
    return { c, i: firstIndex(keys.length, (n) => beyond(keys[n]!)) };
  }

  private keyAt(at: Position): Buffer | undefined {
    return this.chunks[at.c]?.keys[at.i];
  }

  private insertAt(at: Position, key: Buffer, value: V): void {
    if (this.chunks.length === 0) this.chunks.push({ keys: [], values: [] });
    // Past the last key: append to the last chunk.
    const c = at.c === this.chunks.length ? at.c - 1 : at.c;
    const chunk = this.chunks[c]!;
    const i = at.c === this.chunks.length ? chunk.keys.length : at.i;
    chunk.keys.splice(i, 0, key);
    chunk.values.splice(i, 0, value);
    this.count += 1;
    if (chunk.keys.length > MAX_CHUNK) {
      const half = chunk.keys.length >>> 1;
      this.chunks.splice(c + 1, 0, { keys: chunk.keys.splice(half), values: chunk.values.splice(half) });
    }
  }
}

function lastKey(chunk: Chunk<unknown>): Buffer {
  return chunk.keys[chunk.keys.length - 1]!;
}

/** The first n in [0, length) with pred(n) true, for a monotone pred; `length` when none. */
function firstIndex(length: number, pred: (n: number) => boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
