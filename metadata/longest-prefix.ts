/**
 * Longest stored prefix of a query by descending range scans (DESIGN.md,
 * "Longest prefix with range scans"), written once for both metadata stores
 * over an injected range function.
 *
 * Let q be the query and r = max{k stored : k <= q}. If r is a prefix of q it is
 * the answer: a longer stored prefix p would satisfy r < p <= q. Otherwise every
 * stored prefix of q is at most lcp(r, q) long (a longer one would sort between
 * r and q), so q := lcp(r, q) and repeat. A request fetches up to `batchSize`
 * keys below q in descending order, and the same reasoning continues inside the
 * batch (each entry at or below the current q is the new r), so the usual case
 * is one round trip. Every entry consumed shortens q, so the loop ends after at
 * most |q| steps and never walks the key space below the query's first unit.
 *
 * Scan windows: a descending range costs the server work proportional to the
 * keys in the range (etcd sorts the whole range before applying the limit). A
 * request therefore scans only [q[0 : |q| - window], q]; when that window holds
 * no answer, every prefix at least that long is ruled out, q is cut below the
 * window, and the next window is `windowGrowth` times larger.
 *
 * Point reads: a window whose lower end is a short prefix many keys share
 * (short string keys such as `user/000123/chat`, or token prompts opening with
 * the same tokens) spans all of them that sort below the query. When the
 * caller knows such a range to be dense (`PointLookup.dense`), the candidates
 * are read directly instead, one point read per prefix length, longest first,
 * at most `maxCandidates` at a time; each costs the server the same however
 * many keys there are. A miss rules out every length read, and the scan goes on
 * below them.
 */
import { commonPrefixLength, compareBytes, isPrefixOf } from "./bytes.js";

export interface RangeEntry<V> {
  readonly key: Uint8Array;
  readonly value: V;
}

/**
 * Up to `limit` stored entries with lowerInclusive <= key <= upperInclusive, in
 * descending key order (keys relative to one namespace and kind).
 */
export type DescendingRange<V> = (upperInclusive: Uint8Array, lowerInclusive: Uint8Array, limit: number) => Promise<readonly RangeEntry<V>[]>;

/** The stored entry of each key (undefined where none), in the order asked. */
export type PointReads<V> = (keys: readonly Uint8Array[]) => Promise<readonly (RangeEntry<V> | undefined)[]>;

/** How to read candidate prefixes directly, and when to (see the module's doc). */
export interface PointLookup<V> {
  /** True when the range from `lower` (inclusive) up to the query is known to span many keys. */
  readonly dense: (lower: Uint8Array) => boolean;
  readonly read: PointReads<V>;
  /** Candidates read in one go, longest first. */
  readonly maxCandidates: number;
}

export interface LongestPrefixOptions {
  /** Entries per range request (default 8). */
  readonly batchSize?: number;
  /** Stored keys are whole multiples of this many bytes: 4 for token keys, 1 (default) for strings. */
  readonly unit?: number;
  /** Bytes below the query the first request scans (default: all of them, Infinity). */
  readonly windowBytes?: number;
  /** Factor by which the window grows after a window held no answer (default 16). */
  readonly windowGrowth?: number;
}

interface Scan {
  readonly found?: RangeEntry<unknown>;
  readonly q: Uint8Array;
}

/** The entry whose key is the longest prefix of `query` (query itself included), or undefined. */
export async function longestPrefix<V>(
  query: Uint8Array, range: DescendingRange<V>, options: LongestPrefixOptions = {}, points?: PointLookup<V>,
): Promise<RangeEntry<V> | undefined> {
  const unit = options.unit ?? 1;
  const batchSize = options.batchSize ?? 8;
  let window = options.windowBytes ?? Infinity;
  let q = query.subarray(0, alignDown(query.length, unit));
  while (q.length >= unit) {
    const lowerLength = Math.max(unit, alignDown(q.length - window, unit));
    const lower = q.subarray(0, lowerLength);
    if (points !== undefined && points.dense(lower)) {
      const lengths = Math.min(q.length / unit, Math.max(1, points.maxCandidates));
      const found = await longestPresent(q, lengths, unit, points.read);
      if (found !== undefined) return found;
      q = q.subarray(0, q.length - lengths * unit);
      continue;
    }
    const batch = await range(q, lower, batchSize);
    assertBatch(batch, lower, q, batchSize);
    const scan = scanBatch(batch, q, unit);
    if (scan.found !== undefined) return scan.found as RangeEntry<V>;
    q = scan.q;
    if (batch.length < batchSize) {
      // The range [lower, old q] was read to its end: no stored key lies in
      // [lower, q], so no prefix of q at least |lower| long is stored.
      if (q.length >= lowerLength) q = q.subarray(0, lowerLength - unit);
      window *= options.windowGrowth ?? 16;
    }
  }
  return undefined;
}

/** Point reads of q's `lengths` longest prefixes (whole units); the longest stored one. */
async function longestPresent<V>(q: Uint8Array, lengths: number, unit: number, read: PointReads<V>): Promise<RangeEntry<V> | undefined> {
  const keys = Array.from({ length: lengths }, (_, i) => q.subarray(0, q.length - i * unit));
  const found = await read(keys);
  if (found.length !== keys.length) throw new Error(`point reads answered ${found.length} of ${keys.length} keys`);
  return found.find((entry) => entry !== undefined);
}

/** Applies the descending-scan reasoning to one batch; returns the answer or the shortened query. */
function scanBatch(batch: readonly RangeEntry<unknown>[], query: Uint8Array, unit: number): Scan {
  let q = query;
  for (const entry of batch) {
    // Entries above the current q extend a prefix that is already ruled out.
    if (compareBytes(entry.key, q) > 0) continue;
    if (isPrefixOf(entry.key, q)) return { found: entry, q };
    q = q.subarray(0, alignDown(commonPrefixLength(entry.key, q), unit));
    if (q.length === 0) break;
  }
  return { q };
}

/** A range function that breaks its contract would make the loop unsound: fail loudly instead. */
function assertBatch(batch: readonly RangeEntry<unknown>[], lower: Uint8Array, upper: Uint8Array, limit: number): void {
  if (batch.length > limit) throw new Error(`range returned ${batch.length} entries; the limit was ${limit}`);
  let previous: Uint8Array | undefined;
  for (const { key } of batch) {
    if (compareBytes(key, lower) < 0 || compareBytes(key, upper) > 0) throw new Error("range returned a key outside [lower, upper]");
    if (previous !== undefined && compareBytes(key, previous) >= 0) throw new Error("range returned keys out of descending order");
    previous = key;
  }
}

function alignDown(length: number, unit: number): number {
  return length <= 0 ? 0 : length - (length % unit);
}

/** Reference answer by checking every entry: for tests. */
export function bruteForceLongestPrefix<V>(query: Uint8Array, entries: Iterable<RangeEntry<V>>): RangeEntry<V> | undefined {
  let best: RangeEntry<V> | undefined;
  for (const entry of entries) {
    if (isPrefixOf(entry.key, query) && (best === undefined || entry.key.length > best.key.length)) best = entry;
  }
  return best;
}
