import type { Block, BlockId } from "../src/block.js";
import { throwIfAborted } from "../src/errors.js";
import type { StoreTierName } from "./tier-events.js";

/** A block on its way from `from` to a lower tier. */
export interface PendingMove {
  readonly id: BlockId;
  readonly block: Block;
  readonly from: StoreTierName;
  /** Set when the block was deleted or replaced meanwhile: the move must not land. */
  cancelled: boolean;
}

const RANK: Record<StoreTierName, number> = { memory: 0, disk: 1, s3: 2 };

/**
 * Blocks in transit between tiers, so a read during a demotion or spill still
 * finds them (they have left the upper tier's index and may not be readable
 * below yet). Holds references to blocks the evicting tier already handed
 * over: no copies. Its size is bounded by the callers (see TieredStore).
 */
export class PendingMoves {
  readonly #byId = new Map<BlockId, PendingMove[]>();
  #bytes = 0;
  #drained: (() => void)[] = [];

  get bytes(): number {
    return this.#bytes;
  }

  add(id: BlockId, block: Block, from: StoreTierName): PendingMove {
    const move: PendingMove = { id, block, from, cancelled: false };
    const list = this.#byId.get(id) ?? [];
    list.push(move);
    this.#byId.set(id, list);
    this.#bytes += block.data.byteLength;
    return move;
  }

  remove(move: PendingMove): void {
    const list = this.#byId.get(move.id);
    const at = list?.indexOf(move) ?? -1;
    if (list === undefined || at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.#byId.delete(move.id);
    this.#bytes -= move.block.data.byteLength;
    const waiters = this.#drained;
    this.#drained = [];
    for (const wake of waiters) wake();
  }

  /**
   * The newest copy in transit: a copy leaving a higher tier shadows one leaving
   * a lower tier (the higher one was written later), then the latest wins.
   */
  find(id: BlockId): Block | undefined {
    let best: PendingMove | undefined;
    for (const move of this.#byId.get(id) ?? []) {
      if (!move.cancelled && (best === undefined || RANK[move.from] <= RANK[best.from])) best = move;
    }
    return best?.block;
  }

  /** Marks every move of `id` cancelled (the block was deleted or replaced). */
  cancel(id: BlockId): void {
    for (const move of this.#byId.get(id) ?? []) move.cancelled = true;
  }

  ids(): BlockId[] {
    return [...this.#byId.keys()].filter((id) => this.find(id) !== undefined);
  }

  /** Resolves once at most `limitBytes` are in transit; rejects with ERR_ABORTED on abort. */
  async waitBelow(limitBytes: number, signal: AbortSignal | undefined): Promise<void> {
    while (this.#bytes > limitBytes) {
      throwIfAborted(signal);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener("abort", wake);
          resolve();
        };
        this.#drained.push(wake);
        signal?.addEventListener("abort", wake, { once: true });
      });
    }
    throwIfAborted(signal);
  }
}
