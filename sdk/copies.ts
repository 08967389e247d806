import type { BlockId } from "../src/block.js";
import type { EncodedKey } from "../src/keys.js";
import type { BlockPeer } from "../src/peer.js";
import { callPeer, type CoreDeps } from "./core.js";

/** Where copies of a block are: the part of a descriptor that cleanup needs. */
export interface BlockCopies {
  readonly blockId: BlockId;
  readonly holders: readonly string[];
  readonly s3: boolean;
}

/**
 * Best-effort delete of a block no metadata points at any more (superseded by an
 * overwrite, lost an insert race, deleted key). Failures go to `onCleanupError`
 * and leave an orphan that the nodes' sweep removes later; they never fail the
 * caller's operation. A node deletes from every tier it has, S3 included, so an
 * S3-only copy is deleted through any live node.
 */
export async function dropCopies(deps: CoreDeps, copies: BlockCopies): Promise<void> {
  const peers = copyPeers(deps, copies);
  const results = await Promise.allSettled(peers.map((p) => callPeer(deps, p, (signal) => p.delete(copies.blockId, { signal }))));
  for (const r of results) if (r.status === "rejected") deps.onCleanupError(r.reason);
}

function copyPeers(deps: CoreDeps, copies: BlockCopies): BlockPeer[] {
  const live = copies.holders.flatMap((id) => {
    const peer = deps.peers.peer(id);
    return peer === undefined ? [] : [peer];
  });
  if (live.length > 0 || !copies.s3) return live;
  const any = deps.peers.nodes()[0];
  const peer = any === undefined ? undefined : deps.peers.peer(any.nodeId);
  return peer === undefined ? [] : [peer];
}

/**
 * Deletes `key`'s entry, then its copies. Metadata goes first so no reader is
 * pointed at a block being deleted. Resolves false when the key was absent.
 */
export async function deleteKey(deps: CoreDeps, key: EncodedKey): Promise<boolean> {
  let removed: BlockCopies | undefined;
  // update() may call the function again after losing a compare-and-set; the
  // last call is the one that committed, so the last capture is what was deleted.
  await deps.metadata.update(deps.namespace, key, (current) => {
    removed = current;
    return current === undefined ? undefined : null;
  });
  if (removed === undefined) return false;
  await dropCopies(deps, removed);
  return true;
}
