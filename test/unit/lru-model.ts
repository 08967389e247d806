import fc from "fast-check";
import { expect } from "vitest";
import type { BlockId } from "../../src/block.js";
import type { BlockTier } from "../../storage/block-tier.js";
import { sampleBlock } from "../contract/tier-contract.js";

/**
 * A reference model of a byte-capacity LRU tier, for property tests: random
 * operation sequences run against a tier and this model must agree on contents,
 * stats and which ids were evicted.
 */
export interface LruModelOptions {
  readonly capacityBytes: number;
  /** Bytes a block of `size` counts against capacity (memory charges empty blocks 1). */
  readonly charge: (size: number) => number;
  /**
   * True when an overwrite drops the old version before making room (memory);
   * false when the old file is still there while the new one is written (disk),
   * so it may itself be evicted to make room.
   */
  readonly replaceBeforeEvict: boolean;
}

export class LruModel {
  /** Id -> size, in recency order (least recently used first). */
  readonly #entries = new Map<BlockId, number>();
  readonly evicted: BlockId[] = [];

  constructor(readonly options: LruModelOptions) {}

  put(id: BlockId, size: number): void {
    if (this.options.replaceBeforeEvict) this.#entries.delete(id);
    while (this.#used() + this.options.charge(size) > this.options.capacityBytes) {
      const [oldest] = this.#entries.keys();
      this.#entries.delete(oldest!);
      this.evicted.push(oldest!);
    }
    this.#entries.delete(id);
    this.#entries.set(id, size);
  }

  get(id: BlockId): boolean {
    const size = this.#entries.get(id);
    if (size === undefined) return false;
    this.#entries.delete(id);
    this.#entries.set(id, size);
    return true;
  }

  has(id: BlockId): boolean {
    return this.#entries.has(id);
  }

  delete(id: BlockId): void {
    this.#entries.delete(id);
  }

  stats(): { items: number; bytes: number } {
    return { items: this.#entries.size, bytes: [...this.#entries.values()].reduce((a, b) => a + b, 0) };
  }

  ids(): BlockId[] {
    return [...this.#entries.keys()].sort();
  }

  #used(): number {
    return [...this.#entries.values()].reduce((a, b) => a + this.options.charge(b), 0);
  }
}

export type ModelOp = { op: "put"; id: number; size: number } | { op: "get" | "has" | "delete"; id: number };

/** Random operation sequences over a pool of `pool` ids, block sizes up to `maxSize`. */
export function opSequences(pool: number, maxSize: number, maxLength: number): fc.Arbitrary<ModelOp[]> {
  const id = fc.nat({ max: pool - 1 });
  const op: fc.Arbitrary<ModelOp> = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant("put" as const), id, size: fc.nat({ max: maxSize }) }), weight: 3 },
    fc.record({ op: fc.constantFrom("get" as const, "has" as const, "delete" as const), id }),
  );
  return fc.array(op, { minLength: 1, maxLength });
}

/**
 * Runs `ops` one at a time against `tier` and `model`, checking after each one that
 * they agree. `evicted` is the list the tier's onEvict appends to; evictions within
 * one operation may be reported in any order.
 */
export async function runAgainstModel(tier: BlockTier, model: LruModel, ops: readonly ModelOp[], ids: readonly BlockId[], evicted: readonly BlockId[]): Promise<void> {
  for (const step of ops) {
    const id = ids[step.id]!;
    const before = evicted.length;
    const modelBefore = model.evicted.length;
    if (step.op === "put") {
      await tier.put(id, sampleBlock(step.size));
      model.put(id, step.size);
    } else if (step.op === "get") {
      expect((await tier.get(id)) !== undefined).toBe(model.get(id));
    } else if (step.op === "has") {
      expect(await tier.has(id)).toBe(model.has(id));
    } else {
      await tier.delete(id);
      model.delete(id);
    }
    expect([...evicted.slice(before)].sort()).toEqual([...model.evicted.slice(modelBefore)].sort());
    expect(tier.stats()).toMatchObject(model.stats());
  }
  const held: BlockId[] = [];
  for await (const id of tier.ids()) held.push(id);
  expect(held.sort()).toEqual(model.ids());
}
