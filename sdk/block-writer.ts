import { makeBlock, newBlockId, type Block, type BlockId } from "../src/block.js";
import { encodeBlockTag } from "../src/block-tag.js";
import { ErrorCode, KvCacheError, isKvCacheError } from "../src/errors.js";
import type { EncodedKey } from "../src/keys.js";
import type { BlockPeer } from "../src/peer.js";
import type { BlockDescriptor } from "../metadata/metadata-store.js";
import { dropCopies } from "./copies.js";
import { callPeer, rankedPeers, type CoreDeps } from "./core.js";

/** What an insert did: `inserted` is false when the key already had a block (idempotent success). */
export interface WriteOutcome {
  readonly inserted: boolean;
}

/**
 * Stores `bytes` under `key` (already validated). Order matters for invariant 1:
 * the block goes to its nodes first, and only once at least one acknowledged
 * does metadata name exactly the nodes that did.
 */
export async function writeBlock(deps: CoreDeps, key: EncodedKey, bytes: Uint8Array, overwrite: boolean): Promise<WriteOutcome> {
  // Blocks are immutable: an existing key costs one metadata read, no data sent.
  if (!overwrite && (await deps.metadata.get(deps.namespace, key)) !== undefined) return { inserted: false };
  const blockId = newBlockId();
  const block = makeBlock(bytes, encodeBlockTag({ namespace: deps.namespace, key }));
  const holders = await putToNodes(deps, key, blockId, block);
  const descriptor: BlockDescriptor = {
    blockId, size: bytes.length, checksum: block.checksum, holders, s3: false, createdAt: deps.now(),
  };
  try {
    return await publish(deps, key, descriptor, overwrite);
  } catch (err) {
    await dropCopies(deps, { blockId, holders, s3: false });
    throw err;
  }
}

async function publish(deps: CoreDeps, key: EncodedKey, descriptor: BlockDescriptor, overwrite: boolean): Promise<WriteOutcome> {
  if (overwrite) {
    const { previous } = await deps.metadata.put(deps.namespace, key, descriptor);
    if (previous !== undefined && previous.descriptor.blockId !== descriptor.blockId) await dropCopies(deps, previous.descriptor);
    return { inserted: true };
  }
  const { inserted } = await deps.metadata.insertIfAbsent(deps.namespace, key, descriptor);
  // Another writer published first: theirs stands, ours would be an orphan.
  if (!inserted) await dropCopies(deps, descriptor);
  return { inserted };
}

/**
 * Puts the block on the key's `replicas` top-ranked live nodes in parallel. If
 * none acknowledges (a node died but its lease has not expired yet), tries the
 * next ranked nodes one at a time. Resolves the acknowledging node ids, sorted.
 */
async function putToNodes(deps: CoreDeps, key: EncodedKey, blockId: BlockId, block: Block): Promise<string[]> {
  const ranked = rankedPeers(deps, key);
  if (ranked.length === 0) throw new KvCacheError(ErrorCode.NO_NODES, "no live cache node to store the block on");
  const errors: unknown[] = [];
  const first = Math.min(deps.replicas, ranked.length);
  let acked = await putAll(deps, ranked.slice(0, first), blockId, block, errors);
  for (let i = first; acked.length === 0 && i < ranked.length; i++) {
    acked = await putAll(deps, [ranked[i]!], blockId, block, errors);
  }
  if (acked.length === 0) throw noAck(errors);
  return acked.sort();
}

async function putAll(deps: CoreDeps, peers: readonly BlockPeer[], blockId: BlockId, block: Block, errors: unknown[]): Promise<string[]> {
  const results = await Promise.allSettled(peers.map((p) => callPeer(deps, p, (signal) => p.put(blockId, block, { signal }))));
  const acked: string[] = [];
  results.forEach((r, i) => (r.status === "fulfilled" ? acked.push(peers[i]!.nodeId) : errors.push(r.reason)));
  return acked;
}

/** One failure kind: that error (it names the problem, e.g. a node's BLOCK_TOO_LARGE); mixed: ERR_NO_NODES. */
function noAck(errors: readonly unknown[]): KvCacheError {
  const first = errors[0];
  const codes = new Set(errors.map((e) => (isKvCacheError(e) ? e.code : "foreign")));
  if (codes.size === 1 && isKvCacheError(first)) return first;
  return new KvCacheError(ErrorCode.NO_NODES, `no cache node stored the block (${errors.length} attempt(s) failed)`, {
    cause: new AggregateError(errors, "every put failed"),
  });
}
