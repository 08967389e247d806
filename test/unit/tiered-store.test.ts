import { open, readdir } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { newBlockId, type Block, type BlockId } from "../../src/block.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { DiskLayout } from "../../storage/disk-files.js";
import { nodeDiskFs, type DiskFs } from "../../storage/disk-fs.js";
import { MemoryTier } from "../../storage/memory-tier.js";
import type { TierMove } from "../../storage/tier-events.js";
import { diskTier, memoryTier, sharedMemoryTier, type TierFactory } from "../../storage/tier-factories.js";
import { TieredStore } from "../../storage/tiered-store.js";
import { describeTierContract, expectSameBlock, listIds, sampleBlock } from "../contract/tier-contract.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { counterValue } from "../helpers/metric-value.js";
import { Gate, ScriptedTier, type PutScript } from "../helpers/scripted-tier.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const KiB = 1024;

describeTierContract("TieredStore (memory + disk)", async () => {
  const dir = await makeTempDir();
  const store = await TieredStore.open({
    memory: memoryTier({ capacityBytes: 16 * KiB }),
    disk: diskTier({ directory: dir, capacityBytes: 32 * KiB }),
  });
  return {
    tier: store,
    capacityBytes: 48 * KiB,
    cleanup: async () => {
      await store.close();
      await removeDir(dir);
    },
  };
});

interface StoreSetup {
  readonly memory: number;
  readonly disk?: number;
  readonly s3?: TierFactory;
  readonly fs?: DiskFs;
}

interface Opened {
  readonly store: TieredStore;
  readonly moves: TierMove[];
  readonly errors: unknown[];
  readonly metrics: CacheMetrics;
  readonly dir: string;
}

async function openStore(setup: StoreSetup): Promise<Opened> {
  const dir = await makeTempDir();
  const [moves, errors, metrics] = [[] as TierMove[], [] as unknown[], new CacheMetrics()];
  const disk = setup.disk === undefined ? undefined : diskTier({ directory: dir, capacityBytes: setup.disk, ...(setup.fs ? { fs: setup.fs } : {}) });
  const store = await TieredStore.open({
    memory: memoryTier({ capacityBytes: setup.memory }),
    disk,
    s3: setup.s3,
    metrics,
    onMove: (move) => moves.push(move),
    onError: (err) => errors.push(err),
    spillRetry: { attempts: 3, baseDelayMs: 1 },
  });
  cleanupAfterTest(async () => {
    await store.close();
    await removeDir(dir);
  });
  return { store, moves, errors, metrics, dir };
}

/** A stand-in S3 (a big memory tier named "s3") whose puts run `script` first. */
function fakeS3(script: PutScript = () => undefined): { factory: TierFactory; tier: () => ScriptedTier } {
  let tier: ScriptedTier | undefined;
  const factory: TierFactory = () => (tier = new ScriptedTier("s3", new MemoryTier({ capacityBytes: 1 << 30 }), script));
  return { factory, tier: () => tier! };
}

function movesOf(moves: TierMove[], reason: TierMove["reason"]): [BlockId, string, string][] {
  return moves.filter((m) => m.reason === reason).map((m) => [m.id, m.from, m.to]);
}

function first(stored: [BlockId, Block][]): [BlockId, Block] {
  return stored[0]!;
}

async function putAll(store: TieredStore, count: number, size: number, check?: () => void): Promise<[BlockId, Block][]> {
  const stored: [BlockId, Block][] = [];
  for (let i = 0; i < count; i++) {
    const entry: [BlockId, Block] = [newBlockId(), sampleBlock(size, Buffer.from(`key-${i}`))];
    await store.put(...entry);
    stored.push(entry);
    check?.();
  }
  return stored;
}

/**
 * Reads every block: each must load byte-identical unless a `dropped` move was
 * reported for it (reads promote, and promotions may push others out).
 */
async function expectLoadsOrDropped(store: TieredStore, stored: [BlockId, Block][], moves: TierMove[]): Promise<void> {
  for (const [id, block] of stored) {
    const got = await store.get(id);
    const dropped = moves.some((m) => m.id === id && m.reason === "dropped");
    if (got === undefined) expect(dropped, `block ${id} is gone without a dropped move`).toBe(true);
    else expectSameBlock(got, block);
  }
}

describe("TieredStore over memory + disk", () => {
  it("demotes what memory evicts to disk, within both capacities, and every block loads", async () => {
    const { store, moves, errors } = await openStore({ memory: 16 * KiB, disk: 48 * KiB });
    const stored = await putAll(store, 10, 4 * KiB, () => {
      const { memory, disk } = store.tierStats();
      expect(memory!.bytes).toBeLessThanOrEqual(16 * KiB);
      expect(disk!.bytes).toBeLessThanOrEqual(48 * KiB);
    });
    expect(movesOf(moves, "demoted")).toEqual(stored.slice(0, 6).map(([id]) => [id, "memory", "disk"]));
    expect(moves.find((m) => m.reason === "demoted")!.block!.tag).toEqual(stored[0]![1].tag);
    for (const [id, block] of stored) expectSameBlock(await store.get(id), block);
    expect(movesOf(moves, "dropped")).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("drops and reports what disk evicts when there is no S3; every other block loads", async () => {
    const { store, moves, metrics } = await openStore({ memory: 8 * KiB, disk: 16 * KiB });
    const stored = await putAll(store, 10, 4 * KiB);
    const dropped = stored.slice(0, 4).map(([id]) => id);
    expect(movesOf(moves, "dropped")).toEqual(dropped.map((id) => [id, "disk", "none"]));
    expect(await counterValue(metrics.blockMoves, { from: "disk", to: "none", reason: "dropped" })).toBe(4);
    for (const id of dropped) await expect(store.get(id)).resolves.toBeUndefined();
    await expectLoadsOrDropped(store, stored.slice(4).reverse(), moves);
  });

  it("promotes a disk hit into memory, keeps the disk copy, and does not rewrite it when evicted again", async () => {
    const writes: string[] = [];
    const fs: DiskFs = { ...nodeDiskFs, open: (path, flags) => (flags === "wx" && writes.push(path), nodeDiskFs.open(path, flags)) };
    const { store, moves } = await openStore({ memory: 8 * KiB, disk: 32 * KiB, fs });
    const stored = await putAll(store, 3, 4 * KiB);
    const [[a, blockA], [b], [c]] = [stored[0]!, stored[1]!, stored[2]!];
    expect(movesOf(moves, "demoted")).toEqual([[a, "memory", "disk"]]);
    expectSameBlock(await store.get(a), blockA);
    expect(movesOf(moves, "promoted")).toEqual([[a, "disk", "memory"]]);
    expect(movesOf(moves, "demoted")).toEqual([[a, "memory", "disk"], [b, "memory", "disk"]]);
    expectSameBlock(await store.get(a), blockA);
    expect(movesOf(moves, "promoted")).toHaveLength(1);
    const writesOfA = (): number => writes.filter((path) => path.includes(a)).length;
    expect(writesOfA()).toBe(1);
    await putAll(store, 2, 4 * KiB);
    expect(movesOf(moves, "demoted").slice(2)).toEqual([[c, "memory", "disk"], [a, "memory", "disk"]]);
    expect(writesOfA()).toBe(1);
    expectSameBlock(await store.get(a), blockA);
  });

  it("rewrites the lower copy of a block replaced after its promotion", async () => {
    const { store } = await openStore({ memory: 8 * KiB, disk: 32 * KiB });
    const [a] = first(await putAll(store, 3, 4 * KiB));
    await store.get(a);
    const replacement = sampleBlock(4 * KiB, Buffer.from("v2"));
    await store.put(a, replacement);
    await putAll(store, 2, 4 * KiB);
    expect(store.tierStats().memory!.items).toBe(2);
    expectSameBlock(await store.get(a), replacement);
  });

  it("puts a block larger than memory straight on disk", async () => {
    const { store, moves } = await openStore({ memory: 8 * KiB, disk: 32 * KiB });
    const id = newBlockId();
    const big = sampleBlock(12 * KiB);
    await store.put(id, big);
    expect(movesOf(moves, "demoted")).toEqual([[id, "memory", "disk"]]);
    expect(store.tierStats().memory!.items).toBe(0);
    expectSameBlock(await store.get(id), big);
  });

  it("reports a corrupt disk copy and misses", async () => {
    const { store, moves, dir } = await openStore({ memory: 8 * KiB, disk: 32 * KiB });
    const [a] = first(await putAll(store, 3, 4 * KiB));
    const file = await open(new DiskLayout(dir).blockPath(a), "r+");
    const { size } = await file.stat();
    const { buffer: last } = await file.read(Buffer.alloc(1), 0, 1, size - 1);
    await file.write(Buffer.from([last[0]! ^ 0xff]), 0, 1, size - 1);
    await file.close();
    await expect(store.get(a)).resolves.toBeUndefined();
    expect(movesOf(moves, "corrupt")).toEqual([[a, "disk", "none"]]);
    expect(moves.at(-1)!.block).toBeUndefined();
  });

  it("reports a corrupt memory copy and falls through to the disk copy", async () => {
    const { store, moves } = await openStore({ memory: 8 * KiB, disk: 32 * KiB });
    const [a, blockA] = first(await putAll(store, 3, 4 * KiB));
    const promoted = await store.get(a);
    const original = Buffer.from(promoted!.data);
    (promoted!.data as Uint8Array)[0]! ^= 0xff; // what a caller must never do: mutate a returned block
    const again = await store.get(a);
    expect(movesOf(moves, "corrupt")).toEqual([[a, "memory", "none"]]);
    expect(Buffer.compare(Buffer.from(again!.data), original)).toBe(0);
    expect(again!.checksum).toBe(blockA.checksum);
  });

  it("loses no block under concurrent puts of mixed sizes: each loads or was reported dropped", async () => {
    const { store, moves, errors } = await openStore({ memory: 16 * KiB, disk: 32 * KiB });
    const stored = Array.from({ length: 60 }, (_, i): [BlockId, Block] => [newBlockId(), sampleBlock(1 + ((i * 977) % (6 * KiB)))]);
    await Promise.all(stored.map(([id, block]) => store.put(id, block)));
    const { memory, disk } = store.tierStats();
    expect(memory!.bytes).toBeLessThanOrEqual(16 * KiB);
    expect(disk!.bytes).toBeLessThanOrEqual(32 * KiB);
    expect(movesOf(moves, "dropped").length).toBeGreaterThan(0);
    await expectLoadsOrDropped(store, stored, moves);
    expect(errors).toEqual([]);
  });
});

describe("TieredStore spilling to S3 (fake)", () => {
  const s3Failure = (retryable: boolean): KvCacheError => new KvCacheError(ErrorCode.S3, "S3 put failed", { retryable });

  it("retries a failed spill, then reports the block dropped with the error", async () => {
    const s3 = fakeS3(() => Promise.reject(s3Failure(true)));
    const { store, moves, errors } = await openStore({ memory: 8 * KiB, s3: s3.factory });
    const [a] = first(await putAll(store, 3, 4 * KiB));
    expect(s3.tier().puts).toBe(3);
    expect(movesOf(moves, "dropped")).toEqual([[a, "memory", "none"]]);
    expect(errors).toMatchObject([{ code: ErrorCode.S3 }]);
    await expect(store.get(a)).resolves.toBeUndefined();
  });

  it("does not retry a failure that is not retryable", async () => {
    const s3 = fakeS3(() => Promise.reject(s3Failure(false)));
    const { store, moves } = await openStore({ memory: 8 * KiB, s3: s3.factory });
    await putAll(store, 3, 4 * KiB);
    expect(s3.tier().puts).toBe(1);
    expect(movesOf(moves, "dropped")).toHaveLength(1);
  });

  it("lands a spill that fails once, and promotes it back on a read", async () => {
    const s3 = fakeS3((_id, attempt) => (attempt === 1 ? Promise.reject(s3Failure(true)) : undefined));
    const { store, moves, errors } = await openStore({ memory: 8 * KiB, s3: s3.factory });
    const [a, blockA] = first(await putAll(store, 3, 4 * KiB));
    expect(movesOf(moves, "spilled")).toEqual([[a, "memory", "s3"]]);
    expectSameBlock(await store.get(a), blockA);
    expect(movesOf(moves, "promoted")).toEqual([[a, "s3", "memory"]]);
    expect(errors).toEqual([]);
  });

  it("keeps a block readable while its spill is in flight", async () => {
    const gate = new Gate();
    const s3 = fakeS3(() => gate.wait());
    const { store } = await openStore({ memory: 8 * KiB, s3: s3.factory });
    const [a, blockA] = first(await putAll(store, 2, 4 * KiB));
    const third = store.put(newBlockId(), sampleBlock(4 * KiB));
    await waitFor(() => gate.entered === 1, { what: "the spill of the first block to start" });
    expect(store.tierStats().memory!.items).toBe(2);
    expectSameBlock(await store.get(a), blockA);
    await expect(store.has(a)).resolves.toBe(true);
    expect(await listIds(store)).toContain(a);
    await expect(store.holdsLocally(a)).resolves.toBe(true);
    gate.open();
    await third;
    await expect(s3.tier().inner.has(a)).resolves.toBe(true);
    // Landed in S3 only: held, but not locally (this node is no longer a holder)…
    await expect(store.has(a)).resolves.toBe(true);
    await expect(store.holdsLocally(a)).resolves.toBe(false);
    expectSameBlock(await store.get(a), blockA);
    // …until a read promotes it back into memory.
    await expect(store.holdsLocally(a)).resolves.toBe(true);
  });

  it("does not resurrect a block deleted while its spill is in flight", async () => {
    const gate = new Gate();
    const s3 = fakeS3(() => gate.wait());
    const { store } = await openStore({ memory: 8 * KiB, s3: s3.factory });
    const [a] = first(await putAll(store, 2, 4 * KiB));
    const third = store.put(newBlockId(), sampleBlock(4 * KiB));
    await waitFor(() => gate.entered === 1, { what: "the spill of the first block to start" });
    const deleted = store.delete(a);
    gate.open();
    await Promise.all([third, deleted]);
    await expect(store.get(a)).resolves.toBeUndefined();
    await expect(store.has(a)).resolves.toBe(false);
    await expect(s3.tier().inner.has(a)).resolves.toBe(false);
    expect(await listIds(store)).not.toContain(a);
  });
});

describe("TieredStore over a shared memory tier", () => {
  it("reserves room in memory (demoting what it evicts), and commits a block written in place", async () => {
    const dir = await makeTempDir();
    cleanupAfterTest(() => removeDir(dir));
    const moves: TierMove[] = [];
    const store = await TieredStore.open({
      memory: sharedMemoryTier({ capacityBytes: 16 * KiB, directory: dir }),
      disk: diskTier({ directory: `${dir}/disk`, capacityBytes: 64 * KiB }),
      onMove: (move) => void moves.push(move),
    });
    cleanupAfterTest(() => store.close());
    const old = newBlockId();
    const oldBlock = sampleBlock(12 * KiB);
    await store.put(old, oldBlock);
    const id = newBlockId();
    const block = sampleBlock(10 * KiB, Buffer.from("tag"));
    const where = await store.reserve(id, block.data.length, block.checksum, block.tag);
    // The eviction it caused has landed when reserve resolves, as for a put.
    expect(moves.map((m) => [m.id, m.reason])).toEqual([[old, "demoted"]]);
    const file = await open((await listSharedFile(dir))!, "r+");
    await file.write(block.data, 0, block.data.length, where.offset);
    await file.close();
    store.commit(id, where.lease);
    expectSameBlock(await store.get(id), block);
    expectSameBlock(await store.get(old), oldBlock);
  });

  it("refuses reservations when memory is not shared", async () => {
    const store = await TieredStore.open({ memory: memoryTier({ capacityBytes: 16 * KiB }) });
    cleanupAfterTest(() => store.close());
    await expect(store.reserve(newBlockId(), 10, 0, undefined)).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT });
    expect(() => store.commit(newBlockId(), 1)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });
});

async function listSharedFile(dir: string): Promise<string | undefined> {
  const name = (await readdir(dir)).find((n) => n.endsWith(".memory"));
  return name === undefined ? undefined : `${dir}/${name}`;
}
