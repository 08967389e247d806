import type { NodeInfo } from "../metadata/metadata-store.js";
import type { BlockPeer } from "../src/peer.js";

/**
 * The cache nodes the SDK can talk to right now, each with its data client.
 * Cluster mode keeps it in step with etcd membership; embedded mode has one
 * local node. The SDK core sees nothing else of the deployment.
 */
export interface PeerDirectory {
  /** Live nodes at this moment (a snapshot the caller may keep). */
  nodes(): readonly NodeInfo[];
  /** The data client of a live node; `undefined` when the node is not live. */
  peer(nodeId: string): BlockPeer | undefined;
  /** Closes every data client; idempotent. */
  close(): Promise<void>;
}

/** A fixed set of peers (embedded mode: the one local node). Closing closes them. */
export class StaticPeerDirectory implements PeerDirectory {
  private readonly byId: ReadonlyMap<string, { info: NodeInfo; peer: BlockPeer }>;
  private closing: Promise<void> | undefined;

  constructor(members: readonly { info: NodeInfo; peer: BlockPeer }[]) {
    this.byId = new Map(members.map((m) => [m.info.nodeId, m]));
  }

  nodes(): readonly NodeInfo[] {
    return [...this.byId.values()].map((m) => m.info);
  }

  peer(nodeId: string): BlockPeer | undefined {
    return this.byId.get(nodeId)?.peer;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([...this.byId.values()].map((m) => m.peer.close())).then(() => undefined);
    return this.closing;
  }
}
