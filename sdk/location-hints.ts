import { LRUCache } from "lru-cache";
import { MAX_METADATA_KEY_BYTES } from "../metadata/arguments.js";
import { longestPrefix } from "../metadata/longest-prefix.js";
import type { MetadataEntry } from "../metadata/metadata-store.js";
import { SortedKeySpace } from "../metadata/sorted-key-space.js";
import type { EncodedKey, KeyKind } from "../src/keys.js";

/** What one hint is charged beyond its key (held twice: sorted and as the recency key): the entry and its descriptor. */
const ENTRY_OVERHEAD_BYTES = 256;

/**
 * The entries this client's lookups answered most recently, kept in key order
 * so that a new query's likely answer (the deepest remembered key that is a
 * prefix of it) is found the way metadata finds the real one
 * (longest-prefix.ts). Only a guess, for read-ahead.ts: an answer is what etcd
 * says, and a hint may be stale (overwritten, deleted, evicted) or miss a
 * longer key stored since. Bounded in bytes, least recently used dropped first.
 */
export class LocationHints {
  readonly #spaces: Record<KeyKind, SortedKeySpace<MetadataEntry>> = { str: new SortedKeySpace(), tok: new SortedKeySpace() };
  readonly #recent: LRUCache<string, MetadataEntry>;

  constructor(maxBytes: number) {
    this.#recent = new LRUCache<string, MetadataEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry) => 2 * entry.key.bytes.length + ENTRY_OVERHEAD_BYTES,
      // Dropped for room or forgotten; a hint replaced by a newer one for the same key is already gone from its space.
      dispose: (entry) => {
        const space = this.#spaces[entry.key.kind];
        if (space.get(entry.key.bytes) === entry) space.delete(entry.key.bytes);
      },
    });
  }

  /** Hints held. */
  get size(): number {
    return this.#recent.size;
  }

  /** The remembered entry whose key is the deepest prefix of `query` (the query itself included), or undefined. */
  async guess(query: EncodedKey): Promise<MetadataEntry | undefined> {
    const space = this.#spaces[query.kind];
    if (space.size === 0) return undefined;
    const q = query.bytes.subarray(0, MAX_METADATA_KEY_BYTES);
    const found = await longestPrefix(q, async (upper, lower, limit) => space.descending(upper, lower, limit), { unit: query.kind === "tok" ? 4 : 1 });
    return found?.value;
  }

  /** Remembers an answer (the most recently used hint from now on), replacing any hint for the same key. */
  learn(entry: MetadataEntry): void {
    if (2 * entry.key.bytes.length + ENTRY_OVERHEAD_BYTES > this.#recent.maxSize) return;
    this.#spaces[entry.key.kind].set(entry.key.bytes, entry);
    this.#recent.set(recencyKey(entry.key), entry);
  }

  /** Drops `entry` if it is still the hint for its key (a lookup found its key no longer stored). */
  forget(entry: MetadataEntry): void {
    if (this.#spaces[entry.key.kind].get(entry.key.bytes) === entry) this.#recent.delete(recencyKey(entry.key));
  }
}

function recencyKey(key: EncodedKey): string {
  return key.kind + Buffer.from(key.bytes.buffer, key.bytes.byteOffset, key.bytes.length).toString("latin1");
}
