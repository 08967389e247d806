import type { Closeable, MetadataStore, NodeEvent, NodeInfo } from "../metadata/metadata-store.js";
import type { BlockPeer } from "../src/peer.js";
import type { PeerDirectory } from "./peer-directory.js";

/** Makes the data client of one node (a PeerClient in production, a fake in tests). */
export type PeerFactory = (node: NodeInfo) => BlockPeer;

interface Member {
  readonly info: NodeInfo;
  readonly peer: BlockPeer;
}

/**
 * The live nodes of a cluster, kept in step with membership: one data client per
 * live node, made when it joins (or changes address) and closed when it leaves.
 */
export class ClusterPeerDirectory implements PeerDirectory {
  private readonly members = new Map<string, Member>();
  private watch: Closeable | undefined;
  /** Events that arrive while the initial list is in flight; replayed over it. */
  private pending: NodeEvent[] | undefined = [];
  private closing: Promise<void> | undefined;

  private constructor(private readonly connect: PeerFactory) {}

  /** Watches membership first, then lists it, so no join or leave in between is missed. */
  static async open(metadata: MetadataStore, connect: PeerFactory): Promise<ClusterPeerDirectory> {
    const directory = new ClusterPeerDirectory(connect);
    try {
      directory.watch = await metadata.watchNodes((event) => directory.onEvent(event));
      const live = await metadata.liveNodes();
      directory.start(live);
      return directory;
    } catch (err) {
      await directory.close();
      throw err;
    }
  }

  nodes(): readonly NodeInfo[] {
    return [...this.members.values()].map((m) => m.info).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  peer(nodeId: string): BlockPeer | undefined {
    return this.members.get(nodeId)?.peer;
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private start(live: readonly NodeInfo[]): void {
    for (const node of live) this.join(node);
    const buffered = this.pending ?? [];
    this.pending = undefined;
    for (const event of buffered) this.apply(event);
  }

  private onEvent(event: NodeEvent): void {
    if (this.closing !== undefined) return;
    if (this.pending !== undefined) this.pending.push(event);
    else this.apply(event);
  }

  private apply(event: NodeEvent): void {
    if (event.type === "leave") this.leave(event.nodeId);
    else if (event.node !== undefined) this.join(event.node);
  }

  private join(node: NodeInfo): void {
    const current = this.members.get(node.nodeId);
    if (current !== undefined && current.info.address === node.address && current.info.sharedMemory?.token === node.sharedMemory?.token) {
      this.members.set(node.nodeId, { info: node, peer: current.peer });
      return;
    }
    // A node that restarted on another address, or with another shared memory file, gets a new client.
    if (current !== undefined) void closeQuietly(current.peer);
    this.members.set(node.nodeId, { info: node, peer: this.connect(node) });
  }

  private leave(nodeId: string): void {
    const current = this.members.get(nodeId);
    if (current === undefined) return;
    this.members.delete(nodeId);
    void closeQuietly(current.peer);
  }

  private async shutdown(): Promise<void> {
    const peers = [...this.members.values()].map((m) => m.peer);
    this.members.clear();
    await Promise.allSettled([this.watch?.close(), ...peers.map((p) => p.close())]);
  }
}

/** A departing node's client: in-flight requests fail over to other nodes; nothing to report. */
async function closeQuietly(peer: BlockPeer): Promise<void> {
  await peer.close().catch(() => undefined);
}
