import type { S3Layout } from "../src/s3-layout.js";
import type { SharedMemoryFile } from "../src/shared-memory-file.js";
import type { BlockId } from "../src/block.js";
import type { EncodedKey } from "../src/keys.js";

/**
 * Where a key's block lives. Immutable value; updates go through
 * {@link MetadataStore.update} (compare-and-set).
 */
export interface BlockDescriptor {
  readonly blockId: BlockId;
  /** Payload size in bytes. */
  readonly size: number;
  /** CRC-32 of the payload (see src/checksum.ts). */
  readonly checksum: number;
  /** Ids of the nodes holding a copy (memory or disk tier). Sorted, no duplicates. */
  readonly holders: readonly string[];
  /** True once a complete copy is durable in S3. */
  readonly s3: boolean;
  /** Creation time, milliseconds since the epoch. */
  readonly createdAt: number;
}

/** A stored key with its descriptor and the store's revision of that entry (for compare-and-set). */
export interface MetadataEntry {
  readonly key: EncodedKey;
  readonly descriptor: BlockDescriptor;
  /** Opaque, changes on every write of this entry (etcd: mod_revision). */
  readonly revision: string;
}

/**
 * What `update`'s function returns: a new descriptor to write, `null` to delete
 * the entry, or `undefined` to leave it as it is.
 */
export type DescriptorUpdate = BlockDescriptor | null | undefined;

/** A live cache node as recorded in membership. */
export interface NodeInfo {
  readonly nodeId: string;
  /** host:port of the node's data protocol. */
  readonly address: string;
  /** host:port of the node's admin HTTP server (metrics, dashboard), or "" when none. */
  readonly adminAddress: string;
  /** True when that server speaks https (node.tls admin settings); absent: http. */
  readonly adminTls?: boolean;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  /**
   * Where the node's S3 tier keeps blocks, when it has one: clients holding S3
   * credentials read cold blocks there directly (objects are
   * `<prefix>/<namespace encoded>/<block id>` in `bucket`).
   */
  readonly s3?: S3Layout;
  /**
   * The node's shared memory file (memory.sharedDirectory), when its memory tier
   * lives in one: an SDK on the same host that can open it and finds the token
   * in its header reads blocks there (LOCATE) instead of over TCP.
   */
  readonly sharedMemory?: SharedMemoryFile;
}

export type NodeEvent = { readonly type: "join" | "leave"; readonly nodeId: string; readonly node?: NodeInfo };

/** A node's membership. `close()` leaves the cluster (revokes the lease); idempotent. */
export interface NodeRegistration {
  readonly nodeId: string;
  /** Called after the lease was lost and the node registered again under a new one. */
  onReregistered(listener: () => void): void;
  close(): Promise<void>;
}

export interface Closeable {
  close(): Promise<void>;
}

export interface MetadataOptions {
  readonly signal?: AbortSignal;
}

/**
 * Prefix → block-location metadata and node membership.
 *
 * Every key lives in a namespace; entries of one namespace are never visible
 * from another, and string keys never match token keys (separate key spaces).
 * Keys are compared as bytes. Implementations: EtcdMetadataStore (cluster) and
 * MemoryMetadataStore (embedded), with identical semantics (one contract suite).
 * Failures reject with KvCacheError (ERR_ETCD, ERR_ETCD_UNAVAILABLE, ERR_TIMEOUT,
 * ERR_CONFLICT, ERR_INVALID_ARGUMENT, ERR_KEY_*); after close(): ERR_CLOSED.
 */
export interface MetadataStore {
  /**
   * The deepest stored key k of the query's kind with k a prefix of `query`
   * (k = query included), or `undefined`. Range scans, never a whole-namespace read.
   */
  longestPrefix(namespace: string, query: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined>;
  /** The entry stored under exactly `key`, or `undefined`. */
  get(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined>;
  /**
   * Stores `descriptor` unless the key exists. Concurrent callers: exactly one
   * wins; every caller gets the winning entry and whether it was theirs.
   */
  insertIfAbsent(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ inserted: boolean; entry: MetadataEntry }>;
  /** Stores `descriptor`, replacing any entry (explicit overwrite). Returns the previous entry. */
  put(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ entry: MetadataEntry; previous: MetadataEntry | undefined }>;
  /**
   * Many writes in as few transactions as the backend allows (etcd: up to its
   * per-transaction op limit each). `ifAbsent` items behave like insertIfAbsent.
   * Results are in input order.
   */
  putMany(
    namespace: string,
    items: readonly { key: EncodedKey; descriptor: BlockDescriptor; ifAbsent: boolean }[],
    options?: MetadataOptions,
  ): Promise<{ inserted: boolean; entry: MetadataEntry }[]>;
  /**
   * Compare-and-set loop: reads the entry, applies `fn`, writes only if the entry
   * did not change in between, retries otherwise (ERR_CONFLICT past the budget).
   * `fn` sees `undefined` when the key is absent. Resolves the entry after the
   * update (`undefined` when deleted or absent). Concurrent updates are never lost.
   */
  update(
    namespace: string,
    key: EncodedKey,
    fn: (current: BlockDescriptor | undefined) => DescriptorUpdate,
    options?: MetadataOptions,
  ): Promise<MetadataEntry | undefined>;
  /** Deletes the entry only if its revision is still `revision`. True when deleted. */
  compareAndDelete(namespace: string, key: EncodedKey, revision: string, options?: MetadataOptions): Promise<boolean>;
  /** Deletes the entry if present. True when something was deleted. */
  delete(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<boolean>;
  /** Every entry of every namespace, paged (for sweeps); each page is one range request. */
  entries(options?: MetadataOptions & { pageSize?: number }): AsyncIterable<{ namespace: string; entry: MetadataEntry }>;

  /** Registers a node under a lease of `ttlSeconds`, kept alive until close(); re-registers if the lease is lost. */
  registerNode(node: NodeInfo, ttlSeconds: number): Promise<NodeRegistration>;
  /** Nodes whose lease is alive now. */
  liveNodes(options?: MetadataOptions): Promise<NodeInfo[]>;
  /** Calls `listener` for every join and leave after the watch starts. */
  watchNodes(listener: (event: NodeEvent) => void): Promise<Closeable>;

  close(): Promise<void>;
}
