import type { S3Client } from "@aws-sdk/client-s3";
import type { Block, BlockId } from "../src/block.js";
import type { S3Config } from "../src/config.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { PeerOptions } from "../src/peer.js";
import type { NodeInfo, S3Location } from "../metadata/metadata-store.js";
import { makeS3Client } from "../storage/s3-client.js";
import { S3Tier } from "../storage/s3-tier.js";

/** The one thing the read path asks of a copy's location: the block, verified, or undefined. */
export interface BlockSource {
  readonly nodeId: string;
  get(id: BlockId, options?: PeerOptions): Promise<Block | undefined>;
}

/** How S3 reads are named where a node id would be (errors, metrics). */
export const S3_SOURCE_ID = "s3";

/**
 * Cold blocks read straight from S3 by the SDK: one hop instead of a node's
 * GetObject followed by a second transfer to the client. Objects are found
 * where live nodes advertise their S3 tier (NodeInfo.s3); the SDK's own
 * `s3` settings give the endpoint and credentials (and the layout when no live
 * node advertises one). Reads go through an S3Tier per layout, so bodies are
 * verified against their checksum like every other tier read.
 */
export class S3Reads implements BlockSource {
  readonly nodeId = S3_SOURCE_ID;
  readonly #client: S3Client;
  readonly #tiers = new Map<string, S3Tier>();

  constructor(
    private readonly config: S3Config,
    private readonly namespace: string,
    private readonly nodes: () => readonly NodeInfo[],
    private readonly metrics?: CacheMetrics,
  ) {
    this.#client = makeS3Client(config);
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    for (const tier of this.#tiersNow()) {
      const block = await tier.get(id, { signal: options?.signal });
      if (block !== undefined) return intoCallerBuffer(block, options?.into);
    }
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#tiers.values()].map((t) => t.close()));
    this.#client.destroy();
  }

  /** One tier per distinct advertised layout; the SDK's own when none is advertised. */
  #tiersNow(): S3Tier[] {
    const advertised = this.nodes().flatMap((n) => (n.s3 === undefined ? [] : [n.s3]));
    const layouts = advertised.length > 0 ? advertised : [{ bucket: this.config.bucket, prefix: this.config.prefix, namespace: this.namespace }];
    const tiers = new Map<string, S3Tier>();
    for (const layout of layouts) {
      const name = JSON.stringify([layout.bucket, layout.prefix, layout.namespace]);
      if (!tiers.has(name)) tiers.set(name, this.#tier(name, layout));
    }
    return [...tiers.values()];
  }

  #tier(name: string, layout: S3Location): S3Tier {
    let tier = this.#tiers.get(name);
    if (tier === undefined) {
      const config = { ...this.config, bucket: layout.bucket, prefix: layout.prefix };
      tier = new S3Tier({ config, namespace: layout.namespace, client: this.#client, ...(this.metrics === undefined ? {} : { metrics: this.metrics }) });
      this.#tiers.set(name, tier);
    }
    return tier;
  }
}

function intoCallerBuffer(block: Block, into: Uint8Array | undefined): Block {
  if (into === undefined || into.length < block.data.length) return block;
  into.set(block.data);
  return { ...block, data: into.subarray(0, block.data.length) };
}
