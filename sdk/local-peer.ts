import type { Block, BlockId } from "../src/block.js";
import { copiedInto, type BlockPeer, type PeerOptions, type PeerStats } from "../src/peer.js";
import type { TieredStore } from "../storage/tiered-store.js";

/** The node id of the in-process node in embedded mode, as descriptors name it. */
export const LOCAL_NODE_ID = "local";

/**
 * The local tiered store as a {@link BlockPeer}: embedded mode's one node.
 * Bytes are copied in and out, as they would be over the wire, so a caller that
 * reuses its buffer (or mutates a returned one) cannot corrupt the cache.
 */
export class LocalPeer implements BlockPeer {
  readonly nodeId = LOCAL_NODE_ID;

  constructor(private readonly store: TieredStore) {}

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    const block = await this.store.get(id, options);
    if (block === undefined) return undefined;
    return copiedInto(block, options?.into) ?? { ...block, data: Buffer.from(block.data) };
  }

  put(id: BlockId, block: Block, options?: PeerOptions): Promise<void> {
    return this.store.put(id, { ...block, data: Buffer.from(block.data) }, options);
  }

  delete(id: BlockId, options?: PeerOptions): Promise<void> {
    return this.store.delete(id, options);
  }

  async stats(): Promise<PeerStats> {
    const tiers: Record<string, { items: number; bytes: number; capacityBytes: number | null }> = {};
    for (const [name, stats] of Object.entries(this.store.tierStats())) {
      if (stats === undefined) continue;
      tiers[name] = { items: stats.items, bytes: stats.bytes, capacityBytes: Number.isFinite(stats.capacityBytes) ? stats.capacityBytes : null };
    }
    return { nodeId: this.nodeId, tiers };
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
