import type { S3Client } from "@aws-sdk/client-s3";
import type { Block, BlockId } from "../src/block.js";
import type { S3Config } from "../src/config.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { S3Layout } from "../src/s3-layout.js";
import type { TierOptions } from "./block-tier.js";
import { makeS3Client } from "./s3-client.js";
import { S3Tier } from "./s3-tier.js";


/**
 * Reads blocks from S3 tiers laid out by others (cache nodes), over one client
 * made from `config` (endpoint, credentials, deadlines): one read-only
 * S3Tier per layout, kept for reuse, so every body is verified against its
 * checksum as in any tier read (a corrupt object is counted and treated as missing).
 */
export class S3LayoutReads {
  readonly #client: S3Client;
  readonly #tiers = new Map<string, S3Tier>();

  constructor(
    private readonly config: S3Config,
    private readonly metrics?: CacheMetrics,
  ) {
    this.#client = makeS3Client(config);
  }

  /** The block from the first of `layouts` that has it, else undefined. */
  async get(id: BlockId, layouts: readonly S3Layout[], options?: TierOptions): Promise<Block | undefined> {
    for (const layout of layouts) {
      const block = await this.#tier(layout).get(id, options);
      if (block !== undefined) return block;
    }
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#tiers.values()].map((t) => t.close()));
    this.#client.destroy();
  }

  #tier(layout: S3Layout): S3Tier {
    const name = JSON.stringify([layout.bucket, layout.prefix, layout.namespace]);
    let tier = this.#tiers.get(name);
    if (tier === undefined) {
      const config = { ...this.config, bucket: layout.bucket, prefix: layout.prefix };
      tier = new S3Tier({ config, namespace: layout.namespace, client: this.#client, ...(this.metrics === undefined ? {} : { metrics: this.metrics }) });
      this.#tiers.set(name, tier);
    }
    return tier;
  }
}
