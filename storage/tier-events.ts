import type { Block, BlockId } from "../src/block.js";
import type { CacheMetrics } from "../src/metrics.js";

/** A tier the tiered store places blocks in. */
export type StoreTierName = "memory" | "disk" | "s3";

/**
 * Why a block changed location:
 * - `demoted`: evicted from memory, now on disk (the memory copy is gone);
 * - `spilled`: evicted from memory or disk, now in S3 (the evicted copy is gone);
 * - `dropped`: evicted and no tier below took it (none configured, or it failed):
 *   the copy in `from` is gone and nothing replaced it;
 * - `promoted`: read from a lower tier and copied into memory (`from` keeps its copy);
 * - `corrupt`: the copy in `from` failed its checksum on read and was deleted.
 */
export type MoveReason = "demoted" | "spilled" | "dropped" | "promoted" | "corrupt";

/**
 * One change of a block's location, as the node needs it to keep metadata true:
 * `block` (with its tag, so the node knows the key) is set for every reason
 * except `corrupt`, whose bytes are gone.
 */
export interface TierMove {
  readonly id: BlockId;
  readonly from: StoreTierName;
  readonly to: StoreTierName | "none";
  readonly reason: MoveReason;
  readonly block?: Block;
}

/**
 * Counts a move and tells the listener. A listener that throws is reported to
 * `onError`, never to the operation that caused the move. Corrupt drops are
 * counted in blockMoves by the tier that found them, so not again here.
 */
export function emitMove(move: TierMove, metrics: CacheMetrics, onMove: ((move: TierMove) => void) | undefined, onError: (err: unknown) => void): void {
  if (move.reason !== "corrupt") metrics.blockMoves.inc({ from: move.from, to: move.to, reason: move.reason });
  try {
    onMove?.(move);
  } catch (err) {
    onError(err);
  }
}
