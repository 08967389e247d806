import type { EncodedKey } from "../src/keys.js";
import type { MetadataStore } from "../metadata/metadata-store.js";
import type { BlockPeer } from "../src/peer.js";
import { withDeadline } from "./deadline.js";
import { rankNodes } from "./hrw.js";
import type { LocationHints } from "./location-hints.js";
import type { PeerDirectory } from "./peer-directory.js";
import type { BlockSource } from "./s3-reads.js";

/**
 * What the SDK core works on, in both modes: metadata, the live peers, and the
 * few settings of the data path. Cluster and embedded mode differ only in how
 * these are built (see backend.ts).
 */
export interface CoreDeps {
  readonly metadata: MetadataStore;
  readonly peers: PeerDirectory;
  /** Direct S3 reads, tried for a block with an S3 copy once its live holders failed. */
  readonly s3?: BlockSource;
  readonly namespace: string;
  /** Copies of each new block (cluster.replicas). */
  readonly replicas: number;
  /** Deadline of one request to one node, in ms (cluster.requestTimeoutMs). */
  readonly requestTimeoutMs: number;
  /** What this client's lookups answered lately, for reading a block ahead of the answer (cluster mode, sdk.locationHintBytes > 0). */
  readonly hints?: LocationHints;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now: () => number;
  /** Best-effort background work (deleting superseded copies) that failed. */
  readonly onCleanupError: (error: unknown) => void;
}

/**
 * The bytes rendezvous hashing ranks nodes by: namespace, kind and key, so the
 * same key of two namespaces (or kinds) lands independently.
 */
export function placementKey(namespace: string, key: EncodedKey): Uint8Array {
  return Buffer.concat([Buffer.from(namespace, "utf8"), Buffer.from([0, key.kind === "str" ? 0 : 1]), key.bytes]);
}

/** Live peers of `key` in rendezvous order (the order placement chose them). */
export function rankedPeers(deps: CoreDeps, key: EncodedKey): BlockPeer[] {
  const ids = rankNodes(placementKey(deps.namespace, key), deps.peers.nodes().map((n) => n.nodeId));
  return ids.flatMap((id) => {
    const peer = deps.peers.peer(id);
    return peer === undefined ? [] : [peer];
  });
}

/** One request to one node, bounded by the request deadline. */
export function callPeer<T>(deps: CoreDeps, peer: Pick<BlockPeer, "nodeId">, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return withDeadline(deps.requestTimeoutMs, `cache node ${peer.nodeId}`, fn);
}
