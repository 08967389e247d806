import type { Block, BlockId } from "../src/block.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { EncodedKey } from "../src/keys.js";
import type { BlockDescriptor } from "../metadata/metadata-store.js";
import { callPeer, rankedPeers, type CoreDeps } from "./core.js";
import type { BlockSource } from "./s3-reads.js";

/**
 * Non-holders asked after the live holders. Any live node finds a block in its
 * S3 tier, and a holder list may lag a move between nodes; a few are enough,
 * and the cap keeps a lost block from costing one request per node.
 */
const FALLBACK_NODES = 2;

/** A block read: its bytes, and whether a holder served it (else it came from S3, directly or through a node). */
export interface BlockRead {
  readonly data: Uint8Array;
  readonly fromHolder: boolean;
}

/**
 * Reads the block a descriptor names: its live holders first (rendezvous order),
 * then S3 directly when the block has an S3 copy and the SDK can read S3, then
 * up to {@link FALLBACK_NODES} other live nodes, one at a time, each bounded by
 * the request deadline. A copy whose size or checksum does not match the
 * descriptor is skipped. With `into` the bytes land in the caller's buffer.
 * Throws ERR_NO_NODES when no source produced the block (the last error as cause).
 */
export async function readBlock(deps: CoreDeps, key: EncodedKey, descriptor: BlockDescriptor, into?: Uint8Array): Promise<BlockRead> {
  let lastError: unknown;
  let asked = 0;
  for (const peer of readCandidates(deps, key, descriptor)) {
    asked++;
    try {
      const block = peer.getNow?.(descriptor.blockId, into) ?? (await request(deps, peer, descriptor.blockId, into));
      if (block === undefined) continue;
      if (isBlockOf(block.data, block.checksum, descriptor)) return { data: block.data, fromHolder: descriptor.holders.includes(peer.nodeId) };
      lastError = mismatch(peer, descriptor);
    } catch (err) {
      lastError = err;
    }
  }
  throw unavailable(descriptor, asked, lastError);
}

/**
 * Asks a source for the block: a node request gets the node deadline; a direct
 * S3 read is bounded by the S3 tier's own (s3.requestTimeoutMs). Only for what
 * `getNow` could not hand over at once: a same-host node's shared memory file
 * serves a listed block with no request, so with no deadline to arm (a timer,
 * an AbortController and a race cost about 10% of the SDK thread's CPU per
 * 1 MiB load; README, "Same-host hits with no request").
 */
function request(deps: CoreDeps, peer: BlockSource, id: BlockId, into: Uint8Array | undefined): Promise<Block | undefined> {
  return peer === deps.s3 ? peer.get(id, { into }) : callPeer(deps, peer, (signal) => peer.get(id, { signal, into }));
}

/**
 * The sources to try, in order, produced as the read gets to them: the usual
 * read (one live holder) ranks nothing; rendezvous order is computed only
 * among several live holders, or when the fallbacks are reached.
 */
function* readCandidates(deps: CoreDeps, key: EncodedKey, descriptor: BlockDescriptor): Generator<BlockSource> {
  const live = descriptor.holders.filter((id) => deps.peers.peer(id) !== undefined);
  if (live.length === 1) yield deps.peers.peer(live[0]!)!;
  else if (live.length > 1) yield* rankedPeers(deps, key).filter((p) => live.includes(p.nodeId));
  if (descriptor.s3 && deps.s3 !== undefined) yield deps.s3;
  yield* rankedPeers(deps, key).filter((p) => !descriptor.holders.includes(p.nodeId)).slice(0, FALLBACK_NODES);
}

/** The source a read of `descriptor` asks first when it is a live holder (read-ahead.ts), else undefined. */
export function firstHolder(deps: CoreDeps, key: EncodedKey, descriptor: BlockDescriptor): BlockSource | undefined {
  const first = readCandidates(deps, key, descriptor).next();
  return first.done === true || !descriptor.holders.includes(first.value.nodeId) ? undefined : first.value;
}

/**
 * The copy is the descriptor's block. A BlockPeer returns only data it verified
 * against `checksum` (PeerClient on receipt, the local store's tiers on read),
 * so comparing the checksums suffices: hashing the bytes again here would
 * verify the same bytes twice in one process.
 */
export function isBlockOf(data: Uint8Array, checksum: number, d: BlockDescriptor): boolean {
  return data.length === d.size && checksum >>> 0 === d.checksum >>> 0;
}

function mismatch(peer: BlockSource, d: BlockDescriptor): KvCacheError {
  return new KvCacheError(ErrorCode.CHECKSUM_MISMATCH, `node ${peer.nodeId} returned block ${d.blockId} with the wrong size or checksum`, {
    details: { nodeId: peer.nodeId, blockId: d.blockId },
  });
}

function unavailable(d: BlockDescriptor, asked: number, cause: unknown): KvCacheError {
  const why = asked === 0 ? "no cache node is live" : `none of the ${asked} live node(s) asked has it`;
  const last = cause instanceof Error ? ` (last error: ${cause.message})` : "";
  return new KvCacheError(ErrorCode.NO_NODES, `block ${d.blockId} cannot be loaded: ${why}${last}`, {
    cause,
    details: { blockId: d.blockId, holders: d.holders, s3: d.s3, asked },
  });
}
