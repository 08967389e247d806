import type { Block, BlockId } from "./block.js";

/** Options of a data-path request to a node. */
export interface PeerOptions {
  /** Aborts the request (ERR_ABORTED); the configured per-request timeout applies as well (ERR_TIMEOUT). */
  readonly signal?: AbortSignal;
  /**
   * GET only: a buffer the block's bytes are read into when they fit (the
   * returned block's data is then a view of its first `size` bytes), so a
   * caller that reuses one buffer allocates nothing per load. Too small: a new
   * buffer is used. After a miss or failure its contents are unspecified.
   */
  readonly into?: Uint8Array;
}

/**
 * `block` with its bytes copied into `into` (data then views its first `size`
 * bytes), or undefined when there is no `into` or the block does not fit: the
 * one way every in-process BlockPeer honours PeerOptions.into.
 */
export function copiedInto(block: Block, into: Uint8Array | undefined): Block | undefined {
  if (into === undefined || into.length < block.data.length) return undefined;
  into.set(block.data);
  return { ...block, data: into.subarray(0, block.data.length) };
}

/** A node's tier sizes and counters, as its STATS request reports them. */
export interface PeerStats {
  readonly nodeId: string;
  readonly tiers: Readonly<Record<string, { items: number; bytes: number; capacityBytes: number | null }>>;
}

/**
 * One cache node's data API, as the SDK sees it: the client side of the wire
 * protocol (sdk/peer-client.ts) in cluster mode, or the local tiered store in
 * embedded mode. Blocks are verified against their checksum on receipt: a
 * corrupt reply is a miss (counted), never returned.
 *
 * - `get` resolves `undefined` on a miss. The node looks in every tier it has,
 *   S3 included, so asking a live node is also how a block held only in S3 is loaded.
 * - `put` resolves once the node holds the block (memory tier or lower); only then
 *   may metadata name the node as a holder (invariant 1). `tag` carries the owner.
 * - `delete` is idempotent.
 * - Failures reject with KvCacheError: ERR_TIMEOUT, ERR_NODE (the node answered an
 *   error; its code is in details.remoteCode), ERR_PROTOCOL, ERR_AUTH, ERR_CLOSED.
 */
export interface BlockPeer {
  readonly nodeId: string;
  get(id: BlockId, options?: PeerOptions): Promise<Block | undefined>;
  /**
   * The block when this peer can hand it over at once, with no wait (a
   * same-host node's shared memory file), its bytes verified; else undefined,
   * and {@link get} is the way. Optional.
   */
  getNow?(id: BlockId, into?: Uint8Array): Block | undefined;
  put(id: BlockId, block: Block, options?: PeerOptions): Promise<void>;
  delete(id: BlockId, options?: PeerOptions): Promise<void>;
  stats(options?: PeerOptions): Promise<PeerStats>;
  close(): Promise<void>;
}
