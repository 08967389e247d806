import { ErrorCode, KvCacheError, isKvCacheError } from "../src/errors.js";
import { callPeer, type CoreDeps } from "./core.js";
import type { NodeStatsResult } from "./types.js";

/** Every live node's STATS, asked in parallel; a node that fails is listed with its error. */
export async function nodeStats(deps: CoreDeps): Promise<NodeStatsResult[]> {
  const nodes = deps.peers.nodes();
  return Promise.all(nodes.map(async ({ nodeId }): Promise<NodeStatsResult> => {
    const peer = deps.peers.peer(nodeId);
    try {
      if (peer === undefined) throw new KvCacheError(ErrorCode.NO_NODES, `node ${nodeId} left`);
      return await callPeer(deps, peer, (signal) => peer.stats({ signal }));
    } catch (err) {
      const error = isKvCacheError(err) ? err : new KvCacheError(ErrorCode.NODE, `stats of node ${nodeId} failed`, { cause: err });
      return { nodeId, error };
    }
  }));
}
