import type { AppConfig } from "../config.js";
import type { CacheMetrics } from "../metrics.js";
import type { BlockTier } from "../../storage/block-tier.js";
import type { DiskFs } from "../../storage/disk-fs.js";
import type { TierMove } from "../../storage/tier-events.js";
import { SharedMemoryTier } from "../../storage/shared-memory-tier.js";
import { diskTier, memoryTier, s3Tier, sharedMemoryTier, type TierFactory } from "../../storage/tier-factories.js";
import type { BufferPool } from "../buffer-pool.js";
import { ErrorCode, isKvCacheError } from "../errors.js";
import { TieredStore } from "../../storage/tiered-store.js";

/** A node's tiers: the tiered store it serves from, plus handles on the tiers it also uses directly. */
export interface NodeStorage {
  readonly store: TieredStore;
  readonly memory: BlockTier;
  /** The memory tier when it lives in a shared file (memory.sharedDirectory); SDKs on this host use it directly. */
  readonly shared: SharedMemoryTier | undefined;
  readonly disk: BlockTier | undefined;
  /** The S3 tier (write-through uploads, orphan sweep), when configured. */
  readonly s3: BlockTier | undefined;
}

export interface NodeStorageOptions {
  readonly config: AppConfig;
  readonly metrics: CacheMetrics;
  readonly onMove: (move: TierMove) => void;
  readonly onError: (err: unknown) => void;
  /** Told when memory.sharedDirectory cannot hold the memory tier and it stays private to the process. */
  readonly onWarning: (message: string, fields: Record<string, unknown>) => void;
  /** Buffers a shared memory tier lends GET replies (the node's pool, shared with PUT bodies). */
  readonly pool?: BufferPool;
  /** The disk tier's file-system calls (fault injection in tests). */
  readonly diskFs?: DiskFs;
}

/**
 * Opens memory, disk (when `disk.directory` is set) and S3 (when `s3.endpoint`
 * is set) behind one TieredStore. S3 objects live under
 * `<s3.prefix>/<namespace>/<block id>`: every node of a cluster must share the
 * bucket, prefix and namespace, so that a block one node spilled can be read
 * through any other node, and so that each node's orphan sweep sees the same
 * objects the descriptors of its namespace reference.
 */
export async function openNodeStorage(options: NodeStorageOptions): Promise<NodeStorage> {
  const { config } = options;
  let memory: BlockTier | undefined;
  let disk: BlockTier | undefined;
  let s3: BlockTier | undefined;
  const keep = (factory: TierFactory, into: (tier: BlockTier) => void): TierFactory => async (hooks) => {
    const tier = await factory(hooks);
    into(tier);
    return tier;
  };
  const store = await TieredStore.open({
    memory: keep(memoryTierOf(options), (t) => (memory = t)),
    disk: config.disk.directory === "" ? undefined : keep(diskTier({ directory: config.disk.directory, capacityBytes: config.disk.capacityBytes, ...(options.diskFs === undefined ? {} : { fs: options.diskFs }) }), (t) => (disk = t)),
    s3: config.s3.endpoint === "" ? undefined : keep(s3Tier({ config: config.s3, namespace: config.namespace }), (t) => (s3 = t)),
    metrics: options.metrics,
    onMove: options.onMove,
    onError: options.onError,
  });
  return { store, memory: memory!, shared: memory instanceof SharedMemoryTier ? memory : undefined, disk, s3 };
}

/**
 * The shared memory tier when memory.sharedDirectory is set and can hold it;
 * otherwise (no such directory, too small: a container's default /dev/shm is
 * 64 MiB) the private one, with a warning: sharing is a fast path, not a need.
 */
function memoryTierOf(options: NodeStorageOptions): TierFactory {
  const { capacityBytes, sharedDirectory } = options.config.memory;
  const private_ = memoryTier({ capacityBytes });
  if (sharedDirectory === "") return private_;
  return async (hooks) => {
    try {
      return await sharedMemoryTier({ capacityBytes, directory: sharedDirectory, ...(options.pool === undefined ? {} : { pool: options.pool }) })(hooks);
    } catch (err) {
      if (!isKvCacheError(err, ErrorCode.INVALID_ARGUMENT)) throw err;
      options.onWarning("memory tier stays private to the node: memory.sharedDirectory cannot hold it", { reason: err.message, directory: sharedDirectory });
      return private_(hooks);
    }
  };
}

/** Memory and disk: the tiers whose blocks make this node a holder. */
export function localTiers(storage: NodeStorage): BlockTier[] {
  return storage.disk === undefined ? [storage.memory] : [storage.memory, storage.disk];
}
