import type { KvCacheError } from "../src/errors.js";
import type { CacheKey } from "../src/keys.js";
import type { PeerStats } from "../src/peer.js";

/** Block payload as callers hand it in: bytes, or a string stored as UTF-8. */
export type BlockData = Buffer | Uint8Array | string;

/**
 * A matched prefix has the kind of the query: a string for a string query, a
 * Uint32Array for a Uint32Array query, a number[] for a number[] query.
 */
export type MatchedPrefix<Q extends CacheKey> = Q extends string ? string : Q extends Uint32Array ? Uint32Array : number[];

/** A tryLoad hit: the deepest stored prefix of the query and its block. `data` belongs to the caller. */
export interface LoadHit<Q extends CacheKey = CacheKey> {
  readonly matchedPrefix: MatchedPrefix<Q>;
  readonly data: Buffer;
}

export interface LoadOptions {
  /**
   * Read the block into this buffer instead of a new one: `data` is then a view
   * of its first `size` bytes. A process that loads many blocks through one
   * reused buffer (a pinned staging area, a KV slab) allocates nothing per
   * load. A block larger than `into` throws ERR_BUFFER_TOO_SMALL (its size in
   * details.size; matchPrefix tells it beforehand). Do not share one `into`
   * between loads in flight; after a miss its contents are unspecified.
   */
  readonly into?: Uint8Array;
}

/** A matchPrefix hit: the deepest stored prefix and its block's size in bytes (no data fetched). */
export interface PrefixMatch<Q extends CacheKey = CacheKey> {
  readonly matchedPrefix: MatchedPrefix<Q>;
  readonly size: number;
}

export interface InsertOptions {
  /** Replace the key's block if it has one (default false: an existing key is left as it is). */
  readonly overwrite?: boolean;
}

export interface InsertResult {
  /** False when the key already had a block and `overwrite` was not set (an idempotent success). */
  readonly inserted: boolean;
}

export interface InsertItem {
  readonly key: CacheKey;
  readonly data: BlockData;
  readonly overwrite?: boolean;
}

/** Operations, as metrics and events name them. */
export type SdkOp = "insert" | "tryLoad" | "matchPrefix" | "delete" | "stats" | "nodes" | "cleanup" | "background";

/**
 * Emitted when an operation degraded instead of failing: tryLoad / matchPrefix
 * answered a miss because of an infrastructure failure (not strict mode), or a
 * best-effort cleanup (`op: "cleanup"`) failed, or the backend's background work
 * (`op: "background"`: an embedded tier move, a metadata upkeep update) failed.
 */
export interface DegradedEvent {
  readonly op: SdkOp;
  readonly error: KvCacheError;
}

/** The client's events (an EventEmitter: `client.on("degraded", (e) => …)`). */
export interface ClientEvents {
  degraded: [DegradedEvent];
}

/** One node's stats, or why it could not be read. */
export type NodeStatsResult = PeerStats | { readonly nodeId: string; readonly error: KvCacheError };

export interface ClientStats {
  readonly mode: "cluster" | "embedded";
  readonly namespace: string;
  readonly nodes: readonly NodeStatsResult[];
}
