import type { Block, BlockId } from "../src/block.js";
import type { S3Config } from "../src/config.js";
import type { CacheMetrics } from "../src/metrics.js";
import { copiedInto, type BlockPeer, type PeerOptions } from "../src/peer.js";
import type { NodeInfo } from "../metadata/metadata-store.js";
import type { S3Layout } from "../src/s3-layout.js";
import { S3LayoutReads } from "../storage/s3-layout-reads.js";

/** What the read path asks of a copy's location: the block, verified, or undefined (at once, with `getNow`, where it can). */
export type BlockSource = Pick<BlockPeer, "nodeId" | "get" | "getNow">;

/** How S3 reads are named where a node id would be (errors, metrics). */
export const S3_SOURCE_ID = "s3";

/**
 * Cold blocks read straight from S3 by the SDK: one hop instead of a node's
 * GetObject followed by a second transfer to the client. Objects are found
 * where live nodes advertise their S3 tier (NodeInfo.s3); the SDK's own `s3`
 * settings give the endpoint and credentials, and the layout when no live node
 * advertises one. Bodies are verified like every tier read.
 */
export class S3Reads implements BlockSource {
  readonly nodeId = S3_SOURCE_ID;
  readonly #reads: S3LayoutReads;

  constructor(
    private readonly config: S3Config,
    private readonly namespace: string,
    private readonly nodes: () => readonly NodeInfo[],
    metrics?: CacheMetrics,
  ) {
    this.#reads = new S3LayoutReads(config, metrics);
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    const block = await this.#reads.get(id, this.#layouts(), { signal: options?.signal });
    return block === undefined ? undefined : (copiedInto(block, options?.into) ?? block);
  }

  close(): Promise<void> {
    return this.#reads.close();
  }

  /** The distinct advertised layouts; the SDK's own when no live node advertises one. */
  #layouts(): S3Layout[] {
    const seen = new Map<string, S3Layout>();
    for (const n of this.nodes()) if (n.s3 !== undefined) seen.set(JSON.stringify([n.s3.bucket, n.s3.prefix, n.s3.namespace]), n.s3);
    return seen.size > 0 ? [...seen.values()] : [{ bucket: this.config.bucket, prefix: this.config.prefix, namespace: this.namespace }];
  }
}
