import { assertBlockId, MAX_TAG_BYTES, type Block, type BlockId } from "../src/block.js";
import { ErrorCode, KvCacheError, throwIfAborted } from "../src/errors.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { BlockTier, CorruptionHandler, EvictionHandler, TierName, TierOptions } from "./block-tier.js";

/**
 * Checks shared by every tier implementation, so each rejects bad calls the same
 * way and in the same order: closed, then aborted, then a malformed id.
 */
export function guardOp(tier: TierName, closed: boolean, options: TierOptions | undefined): void {
  if (closed) throw new KvCacheError(ErrorCode.CLOSED, `${tier} tier is closed`, { details: { tier } });
  throwIfAborted(options?.signal);
}

/** {@link guardOp} plus id validation. */
export function guardIdOp(tier: TierName, closed: boolean, id: unknown, options: TierOptions | undefined): asserts id is BlockId {
  guardOp(tier, closed, options);
  assertBlockId(id);
}

/**
 * Throws ERR_BLOCK_TOO_LARGE when `block` could never fit in `capacityBytes`, and
 * ERR_INVALID_ARGUMENT when its tag is longer than {@link MAX_TAG_BYTES}.
 */
export function assertStorable(tier: TierName, block: Block, capacityBytes: number): void {
  assertStorableSize(tier, block.data.byteLength, block.tag?.byteLength ?? 0, capacityBytes);
}

/** {@link assertStorable} for a block known by its sizes (a reservation), which must also be whole numbers. */
export function assertStorableSize(tier: TierName, size: number, tagBytes: number, capacityBytes: number): void {
  if (tagBytes > MAX_TAG_BYTES) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `block tag of ${tagBytes} bytes exceeds ${MAX_TAG_BYTES}`, { details: { tier, size: tagBytes } });
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `block size must be a non-negative integer; got ${size}`, { details: { tier } });
  }
  if (size > capacityBytes) {
    throw new KvCacheError(ErrorCode.BLOCK_TOO_LARGE, `block of ${size} bytes exceeds the ${tier} tier capacity of ${capacityBytes} bytes`, {
      details: { tier, size, limit: capacityBytes },
    });
  }
}

/** Validates a configured capacity: a positive safe integer number of bytes. */
export function assertCapacity(tier: TierName, capacityBytes: unknown): asserts capacityBytes is number {
  if (typeof capacityBytes !== "number" || !Number.isSafeInteger(capacityBytes) || capacityBytes <= 0) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `${tier} tier capacityBytes must be a positive integer; got ${String(capacityBytes)}`, {
      details: { tier },
    });
  }
}

/**
 * Validates a whole batch before any of it is stored, so a batch with one bad
 * entry stores nothing.
 */
export function guardBatch(
  tier: TierName,
  closed: boolean,
  batch: readonly (readonly [BlockId, Block])[],
  capacityBytes: number,
  options: TierOptions | undefined,
): void {
  guardOp(tier, closed, options);
  for (const [id, block] of batch) {
    assertBlockId(id);
    assertStorable(tier, block, capacityBytes);
  }
}

/**
 * Runs an eviction handler and never rejects: a synchronous throw or a rejected
 * promise goes to `onError`, because an eviction happens whether or not the owner
 * managed to move the block (see {@link EvictionHandler}).
 */
export async function runEvictionHandler(
  handler: EvictionHandler | undefined,
  id: BlockId,
  block: Block,
  onError: (err: unknown) => void,
): Promise<void> {
  if (handler === undefined) return;
  try {
    await handler(id, block, "capacity");
  } catch (err) {
    onError(err);
  }
}

/** Tells the owner a copy was dropped; a throwing handler goes to `onError`, never to the read. */
export function notifyCorrupt(handler: CorruptionHandler | undefined, id: BlockId, onError: (err: unknown) => void): void {
  try {
    handler?.(id);
  } catch (err) {
    onError(err);
  }
}

/** Counts one read as a hit (with its payload bytes) or a miss, and passes the result through. */
export function countRead(metrics: CacheMetrics, tier: TierName, block: Block | undefined): Block | undefined {
  if (block === undefined) {
    metrics.tierMisses.inc({ tier });
  } else {
    metrics.tierHits.inc({ tier });
    metrics.tierHitBytes.inc({ tier }, block.data.byteLength);
  }
  return block;
}

/** The `code` of a KvCacheError, or "unknown": a bounded metric label. */
export function errorCodeOf(err: unknown): string {
  return err instanceof KvCacheError ? err.code : "unknown";
}

/** `getMany` as one `get` per id, for a tier with no cheaper batch read (the caller has guarded the batch). */
export function getEach(tier: BlockTier, ids: readonly BlockId[], options: TierOptions | undefined): Promise<(Block | undefined)[]> {
  return Promise.all(ids.map((id) => tier.get(id, options)));
}

/** `putMany` as one `put` per entry (the caller has validated the whole batch first). */
export async function putEach(tier: BlockTier, entries: readonly (readonly [BlockId, Block])[], options: TierOptions | undefined): Promise<void> {
  await Promise.all(entries.map(([id, block]) => tier.put(id, block, options)));
}

/** `deleteMany` as one `delete` per id. */
export async function deleteEach(tier: BlockTier, ids: readonly BlockId[], options: TierOptions | undefined): Promise<void> {
  await Promise.all(ids.map((id) => tier.delete(id, options)));
}
