import type { Block, BlockId } from "../../src/block.js";
import type { BlockTier, TierName, TierOptions, TierStats } from "../../storage/block-tier.js";

/** Runs before each put reaches the inner tier: throw to fail it, await to hold it. */
export type PutScript = (id: BlockId, attempt: number) => Promise<void> | void;

/**
 * A tier that delegates to `inner` under another name, with a script run before
 * every put: a stand-in for a slow or failing S3 in tests of the tiered store.
 */
export class ScriptedTier implements BlockTier {
  /** Puts attempted so far. */
  puts = 0;

  constructor(
    readonly name: TierName,
    readonly inner: BlockTier,
    readonly beforePut: PutScript,
  ) {}

  get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    return this.inner.get(id, options);
  }
  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    this.puts++;
    await this.beforePut(id, this.puts);
    await this.inner.put(id, block, options);
  }
  has(id: BlockId, options?: TierOptions): Promise<boolean> {
    return this.inner.has(id, options);
  }
  delete(id: BlockId, options?: TierOptions): Promise<void> {
    return this.inner.delete(id, options);
  }
  getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    return this.inner.getMany(ids, options);
  }
  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    for (const [id, block] of entries) await this.put(id, block, options);
  }
  deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void> {
    return this.inner.deleteMany(ids, options);
  }
  ids(options?: TierOptions): AsyncIterable<BlockId> {
    return this.inner.ids(options);
  }
  stats(): TierStats {
    return this.inner.stats();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A latch tests open by hand: `wait()` resolves once `open()` was called. */
export class Gate {
  entered = 0;
  #open!: () => void;
  readonly #opened = new Promise<void>((resolve) => (this.#open = resolve));

  /** Counts the caller as waiting, then waits for open(). */
  async wait(): Promise<void> {
    this.entered++;
    await this.#opened;
  }

  open(): void {
    this.#open();
  }
}
