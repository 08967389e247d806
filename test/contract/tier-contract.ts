/**
 * The one compliance suite every {@link BlockTier} runs (memory, disk, S3, tiered).
 *
 * Use it from an implementation's own test file:
 *
 * ```ts
 * describeTierContract("DiskTier", async () => {
 *   const dir = await makeTempDir();
 *   const open = () => DiskTier.open({ directory: dir, capacityBytes: 64 * 1024 });
 *   let tier = await open();
 *   return {
 *     get tier() { return tier; },
 *     capacityBytes: 64 * 1024,
 *     reopen: async () => { await tier.close(); tier = await open(); return tier; },
 *     cleanup: async () => { await tier.close(); await removeDir(dir); },
 *   };
 * });
 * ```
 *
 * - The factory runs before every test and must return an EMPTY tier; `cleanup`
 *   runs after every test, must release everything the factory made (servers,
 *   directories), and must work whether or not the tier is already closed.
 * - `capacityBytes` is the tier's configured capacity (`Infinity` when unbounded);
 *   it must be at least {@link MIN_CAPACITY_BYTES} so the tests that do not mean to
 *   evict never do. Tests that fill the tier scale their blocks to the capacity.
 * - `reopen` is for durable tiers: close the current tier and open a new one on the
 *   same storage. The suite closes the tier `reopen` returns; if `cleanup` must see
 *   it (as above), the harness keeps track of it.
 * The tier's own test file adds only what is specific to it (eviction order,
 * corruption handling, fault injection).
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type Block, type BlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";
import type { BlockTier, TierOptions } from "../../storage/block-tier.js";

export interface TierHarness {
  readonly tier: BlockTier;
  readonly capacityBytes: number;
  /** Durable tiers: close `tier` and open it again on the same storage. */
  readonly reopen?: () => Promise<BlockTier>;
  readonly cleanup: () => Promise<void>;
}

/** Smallest capacity the suite accepts: room for its small fixed-size blocks. */
export const MIN_CAPACITY_BYTES = 16 * 1024;

/** Random payload of `size` bytes, with its checksum, optionally tagged. */
export function sampleBlock(size: number, tag?: Uint8Array): Block {
  return makeBlock(randomBytes(size), tag);
}

/** Asserts `got` is a block with the same bytes, checksum and tag as `want`. */
export function expectSameBlock(got: Block | undefined, want: Block): void {
  expect(got, "block should be present").toBeDefined();
  const block = got as Block;
  expect(block.data.byteLength).toBe(want.data.byteLength);
  expect(Buffer.compare(asBuffer(block.data), asBuffer(want.data)), "data bytes differ").toBe(0);
  expect(block.checksum >>> 0).toBe(want.checksum >>> 0);
  expect(asBuffer(block.tag ?? new Uint8Array()).toString("hex")).toBe(asBuffer(want.tag ?? new Uint8Array()).toString("hex"));
}

/** Every id `tier.ids()` yields, sorted. */
export async function listIds(tier: BlockTier, options?: TierOptions): Promise<BlockId[]> {
  const out: BlockId[] = [];
  for await (const id of tier.ids(options)) out.push(id);
  return out.sort();
}

/** Awaits `promise` and asserts it rejects with a KvCacheError carrying `code`. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: "KvCacheError", code });
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function entries(count: number, size: number): [BlockId, Block][] {
  return Array.from({ length: count }, () => [newBlockId(), sampleBlock(size)]);
}

/**
 * Every operation of `tier` on `id` with `options`, as thunks so the caller starts
 * each one only when it is ready to handle its rejection. ids() comes last.
 */
function everyOperation(tier: BlockTier, id: string, options?: TierOptions): (() => Promise<unknown>)[] {
  return [
    () => tier.get(id, options),
    () => tier.put(id, sampleBlock(8), options),
    () => tier.has(id, options),
    () => tier.delete(id, options),
    () => tier.getMany([id], options),
    () => tier.putMany([[id, sampleBlock(8)]], options),
    () => tier.deleteMany([id], options),
    () => listIds(tier, options),
  ];
}

export function describeTierContract(name: string, factory: () => Promise<TierHarness>): void {
  describe(`BlockTier contract: ${name}`, () => {
    let h: TierHarness;
    beforeEach(async () => {
      h = await factory();
      expect(h.capacityBytes).toBeGreaterThanOrEqual(MIN_CAPACITY_BYTES);
    });
    afterEach(async () => {
      await h.cleanup();
    });

    describeBasics(() => h);
    describeBatchesAndErrors(() => h);
    describeCapacity(() => h);
    describeLifecycle(() => h);
  });
}

function describeBasics(harness: () => TierHarness): void {
  it("round-trips bytes, checksum and tag (empty, tiny, tagged, subarray views)", async () => {
    const { tier } = harness();
    const backing = randomBytes(5000);
    const cases: [BlockId, Block][] = [
      [newBlockId(), sampleBlock(0)],
      [newBlockId(), sampleBlock(1)],
      [newBlockId(), sampleBlock(3000, Buffer.from("ns\0key/with/tag"))],
      [newBlockId(), sampleBlock(0, randomBytes(40))],
      [newBlockId(), makeBlock(backing.subarray(1234, 4321), backing.subarray(10, 20))],
    ];
    for (const [id, block] of cases) await tier.put(id, block);
    for (const [id, block] of cases) expectSameBlock(await tier.get(id), block);
  });

  it("reports a miss as undefined and has() as false", async () => {
    const { tier } = harness();
    const id = newBlockId();
    await expect(tier.get(id)).resolves.toBeUndefined();
    await expect(tier.has(id)).resolves.toBe(false);
    await tier.put(id, sampleBlock(10));
    await expect(tier.has(id)).resolves.toBe(true);
  });

  it("deletes idempotently", async () => {
    const { tier } = harness();
    const id = newBlockId();
    await tier.delete(id);
    await tier.put(id, sampleBlock(100));
    await tier.delete(id);
    await tier.delete(id);
    await expect(tier.get(id)).resolves.toBeUndefined();
    await expect(tier.has(id)).resolves.toBe(false);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
  });

  it("replaces a block put again under the same id", async () => {
    const { tier } = harness();
    const id = newBlockId();
    await tier.put(id, sampleBlock(100, Buffer.from("first")));
    const second = sampleBlock(250);
    await tier.put(id, second);
    expectSameBlock(await tier.get(id), second);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 250 });
  });

  it("keeps stats exact through puts and deletes", async () => {
    const { tier } = harness();
    const [a, b, c] = [newBlockId(), newBlockId(), newBlockId()];
    expect(tier.stats()).toEqual({ items: 0, bytes: 0, capacityBytes: harness().capacityBytes });
    await tier.put(a, sampleBlock(100));
    await tier.put(b, sampleBlock(0));
    await tier.put(c, sampleBlock(1000));
    expect(tier.stats()).toMatchObject({ items: 3, bytes: 1100 });
    await tier.delete(a);
    expect(tier.stats()).toMatchObject({ items: 2, bytes: 1000 });
  });

  it("lists exactly the ids it holds", async () => {
    const { tier } = harness();
    const all = entries(5, 20);
    await tier.putMany(all);
    await tier.deleteMany([all[1]![0], all[3]![0]]);
    const kept = [all[0]![0], all[2]![0], all[4]![0]].sort();
    expect(await listIds(tier)).toEqual(kept);
  });
}

function describeBatchesAndErrors(harness: () => TierHarness): void {
  it("runs getMany / putMany / deleteMany in order, misses as undefined", async () => {
    const { tier } = harness();
    const all = entries(5, 64);
    await tier.putMany(all);
    const missing = newBlockId();
    const got = await tier.getMany([all[3]![0], missing, all[0]![0]]);
    expect(got).toHaveLength(3);
    expectSameBlock(got[0], all[3]![1]);
    expect(got[1]).toBeUndefined();
    expectSameBlock(got[2], all[0]![1]);
    await tier.deleteMany([all[0]![0], missing, all[3]![0]]);
    const after = await tier.getMany(all.map(([id]) => id));
    expect(after.map((b) => b !== undefined)).toEqual([false, true, true, false, true]);
    await expect(tier.getMany([])).resolves.toEqual([]);
  });

  it("rejects invalid ids with ERR_INVALID_ARGUMENT and stores nothing", async () => {
    const { tier } = harness();
    const bad = ["", "abc", "A".repeat(32), "0".repeat(33), "../../../../etc/passwd", `${"0".repeat(30)}/x`, 42 as unknown as string];
    for (const id of bad) {
      for (const op of everyOperation(tier, id).slice(0, 7)) await expectCode(op(), ErrorCode.INVALID_ARGUMENT);
    }
    expect(await listIds(tier)).toEqual([]);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
  });

  it("rejects an already-aborted signal with ERR_ABORTED and changes nothing", async () => {
    const { tier } = harness();
    const kept = newBlockId();
    await tier.put(kept, sampleBlock(10));
    const signal = AbortSignal.abort(new Error("caller gave up"));
    for (const op of everyOperation(tier, newBlockId(), { signal })) await expectCode(op(), ErrorCode.ABORTED);
    await expectCode(tier.delete(kept, { signal }), ErrorCode.ABORTED);
    expect(await listIds(tier)).toEqual([kept]);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 10 });
  });

  it("stores 100 blocks put in parallel, all readable, stats exact", async () => {
    const { tier } = harness();
    const all = entries(100, 64);
    await Promise.all(all.map(([id, block]) => tier.put(id, block)));
    const got = await tier.getMany(all.map(([id]) => id));
    got.forEach((block, i) => expectSameBlock(block, all[i]![1]));
    expect(tier.stats()).toMatchObject({ items: 100, bytes: 6400 });
  });
}

function describeCapacity(harness: () => TierHarness): void {
  it("rejects a block larger than the capacity with ERR_BLOCK_TOO_LARGE and evicts nothing", async () => {
    const { tier, capacityBytes } = harness();
    const kept = newBlockId();
    await tier.put(kept, sampleBlock(10));
    if (Number.isFinite(capacityBytes)) {
      const id = newBlockId();
      await expectCode(tier.put(id, sampleBlock(capacityBytes + 1)), ErrorCode.BLOCK_TOO_LARGE);
      await expectCode(tier.putMany([[id, sampleBlock(capacityBytes + 1)]]), ErrorCode.BLOCK_TOO_LARGE);
      await expect(tier.has(id)).resolves.toBe(false);
      expect(await listIds(tier)).toEqual([kept]);
    } else {
      // Unbounded: a block bigger than any local tier still fits.
      const id = newBlockId();
      const big = sampleBlock(2 * 1024 * 1024 + 1);
      await tier.put(id, big);
      expectSameBlock(await tier.get(id), big);
    }
    await expect(tier.has(kept)).resolves.toBe(true);
  });

  it("never exceeds its capacity while filled to 3x capacity", async () => {
    const { tier, capacityBytes } = harness();
    const finite = Number.isFinite(capacityBytes);
    const size = finite ? Math.ceil(capacityBytes / 8) : 1024;
    for (const [id, block] of entries(24, size)) {
      await tier.put(id, block);
      const stats = tier.stats();
      expect(stats.bytes).toBeLessThanOrEqual(capacityBytes);
      expect(Number.isFinite(stats.bytes)).toBe(true);
      expect(stats.bytes).toBe(stats.items * size);
      expectSameBlock(await tier.get(id), block);
    }
    const ids = await listIds(tier);
    expect(ids).toHaveLength(tier.stats().items);
    for (const id of ids) await expect(tier.has(id)).resolves.toBe(true);
    if (!finite) expect(ids).toHaveLength(24);
  });
}

function describeLifecycle(harness: () => TierHarness): void {
  it("rejects every operation after close with ERR_CLOSED; close is idempotent", async () => {
    const { tier } = harness();
    const id = newBlockId();
    await tier.put(id, sampleBlock(10));
    await tier.close();
    await tier.close();
    for (const op of everyOperation(tier, id)) await expectCode(op(), ErrorCode.CLOSED);
    await Promise.all([tier.close(), tier.close()]);
  });

  it("refuses the old handle after close; a durable tier's reopen finds every block", async () => {
    const { tier, reopen } = harness();
    const stored = [...entries(3, 500), [newBlockId(), sampleBlock(0, Buffer.from("tag"))] as [BlockId, Block]];
    await tier.putMany(stored);
    const before = tier.stats();
    await tier.close();
    await expectCode(tier.get(stored[0]![0]), ErrorCode.CLOSED);
    if (reopen === undefined) return;
    const again = await reopen();
    try {
      for (const [id, block] of stored) expectSameBlock(await again.get(id), block);
      expect(again.stats()).toEqual(before);
      expect(await listIds(again)).toEqual(stored.map(([id]) => id).sort());
    } finally {
      await again.close();
    }
  });
}
