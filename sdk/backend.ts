import type { MetadataStore } from "../metadata/metadata-store.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { PeerDirectory } from "./peer-directory.js";
import type { BlockSource } from "./s3-reads.js";

/**
 * A deployment as the SDK core sees it. Cluster mode: etcd metadata and the live
 * cache nodes over TCP; embedded mode: in-memory metadata and one local tiered
 * store. Everything above this seam is one code path.
 */
export interface Backend {
  readonly mode: "cluster" | "embedded";
  readonly metadata: MetadataStore;
  readonly peers: PeerDirectory;
  /** Direct S3 reads of blocks no live node holds (cluster mode with S3 settings; see S3Reads). */
  readonly s3?: BlockSource;
  /** Closes peers, then metadata; idempotent. */
  close(): Promise<void>;
}

/** What opening a backend gets besides the configuration. */
export interface BackendContext {
  readonly metrics: CacheMetrics;
  /** Background failures (a tier move, a metadata upkeep update): reported to clients as "degraded" events. */
  readonly onError: (error: unknown) => void;
}
