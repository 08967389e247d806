import type { BlockId } from "../src/block.js";

type Lower = "disk" | "s3";

/**
 * For blocks held in memory or on disk: which lower tiers are known to hold an
 * identical copy, because the block was promoted from there. Evicting such a
 * block down again skips the rewrite (or the re-upload) when the copy is still
 * there. Entries go away when the block leaves the local tiers, is replaced or
 * deleted, so the map stays as small as memory + disk.
 */
export class KnownCopies {
  readonly #copies = new Map<BlockId, Set<Lower>>();

  add(id: BlockId, tier: Lower): void {
    const set = this.#copies.get(id) ?? new Set<Lower>();
    set.add(tier);
    this.#copies.set(id, set);
  }

  has(id: BlockId, tier: Lower): boolean {
    return this.#copies.get(id)?.has(tier) ?? false;
  }

  /** The copy in `tier` is gone (corrupt, deleted). */
  lost(id: BlockId, tier: Lower): void {
    const set = this.#copies.get(id);
    set?.delete(tier);
    if (set?.size === 0) this.#copies.delete(id);
  }

  forget(id: BlockId): void {
    this.#copies.delete(id);
  }

  get size(): number {
    return this.#copies.size;
  }
}
