import type { CacheMetrics } from "../src/metrics.js";
import type { BlockTier, CorruptionHandler, EvictionHandler } from "./block-tier.js";
import { DiskTier, type DiskTierOptions } from "./disk-tier.js";
import { MemoryTier, type MemoryTierOptions } from "./memory-tier.js";
import { S3Tier, type S3TierOptions } from "./s3-tier.js";
import { SharedMemoryTier, type SharedMemoryTierOptions } from "./shared-memory-tier.js";

/** What the tiered store hands each tier it builds, so it hears of evictions and corrupt copies. */
export interface TierHooks {
  readonly onEvict: EvictionHandler;
  readonly onCorrupt: CorruptionHandler;
  readonly onError: (err: unknown) => void;
  readonly metrics: CacheMetrics;
}

/**
 * Builds one tier wired to the tiered store. The store, not the caller, owns the
 * eviction handlers: that is how all placement policy stays in one place.
 */
export type TierFactory = (hooks: TierHooks) => BlockTier | Promise<BlockTier>;

type Wired = keyof TierHooks;

/** A {@link MemoryTier} for {@link TieredStore.open}. */
export function memoryTier(options: Omit<MemoryTierOptions, Wired>): TierFactory {
  return (hooks) => new MemoryTier({ ...options, ...hooks });
}

/** A {@link SharedMemoryTier} (its file created) for {@link TieredStore.open}, in memory's place. */
export function sharedMemoryTier(options: Omit<SharedMemoryTierOptions, Wired>): TierFactory {
  return (hooks) => SharedMemoryTier.open({ ...options, ...hooks });
}

/** A {@link DiskTier} (opened, warm-restarted) for {@link TieredStore.open}. */
export function diskTier(options: Omit<DiskTierOptions, Wired>): TierFactory {
  return (hooks) => DiskTier.open({ ...options, ...hooks });
}

/** An {@link S3Tier} for {@link TieredStore.open}; S3 never evicts, so only corrupt copies are reported. */
export function s3Tier(options: Omit<S3TierOptions, Exclude<Wired, "onEvict">>): TierFactory {
  return (hooks) => new S3Tier({ ...options, metrics: hooks.metrics, onCorrupt: hooks.onCorrupt, onError: hooks.onError });
}
