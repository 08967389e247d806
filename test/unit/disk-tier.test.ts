import fc from "fast-check";
import { readdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newBlockId, type Block, type BlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { DiskLayout } from "../../storage/disk-files.js";
import { HEADER_BYTES } from "../../storage/disk-format.js";
import { nodeDiskFs, type DiskFs } from "../../storage/disk-fs.js";
import { DiskTier, type DiskTierOptions } from "../../storage/disk-tier.js";
import { describeTierContract, expectCode, expectSameBlock, listIds, sampleBlock } from "../contract/tier-contract.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { LruModel, opSequences, runAgainstModel } from "./lru-model.js";

const CONTRACT_CAPACITY = 64 * 1024;

describeTierContract("DiskTier", async () => {
  const directory = await makeTempDir("disk-tier-contract-");
  const open = (): Promise<DiskTier> => DiskTier.open({ directory, capacityBytes: CONTRACT_CAPACITY });
  let tier = await open();
  return {
    get tier() {
      return tier;
    },
    capacityBytes: CONTRACT_CAPACITY,
    reopen: async () => {
      await tier.close();
      tier = await open();
      return tier;
    },
    cleanup: async () => {
      await tier.close();
      await removeDir(directory);
    },
  };
});

type Eviction = { id: BlockId; block: Block; reason: string };

async function counterValue(metrics: CacheMetrics, tier: string): Promise<number> {
  const { values } = await metrics.checksumFailures.get();
  return values.find((v) => v.labels.tier === tier)?.value ?? 0;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Every block file under the tier's shard directories. */
async function blockFiles(layout: DiskLayout): Promise<string[]> {
  const shards = await readdir(layout.blocksDir);
  const lists = await Promise.all(shards.map((s) => readdir(layout.shardDir(s))));
  return lists.flat().sort();
}

function enospc(): Error {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 });
}

/** node's fs, except that writes to files opened for creation fail while `fault.on`. */
function faultyFs(fault: { on: boolean }): DiskFs {
  return {
    ...nodeDiskFs,
    open: async (path, flags) => {
      const handle = await nodeDiskFs.open(path, flags);
      if (flags !== "wx") return handle;
      return {
        write: (...args) => (fault.on ? Promise.reject(enospc()) : handle.write(...args)),
        read: (...args) => handle.read(...args),
        sync: () => handle.sync(),
        close: () => handle.close(),
      };
    },
  };
}

describe("DiskTier", () => {
  let directory: string;
  let layout: DiskLayout;
  const opened: DiskTier[] = [];
  let evictions: Eviction[];
  let metrics: CacheMetrics;

  beforeEach(async () => {
    directory = await makeTempDir("disk-tier-");
    layout = new DiskLayout(directory);
    evictions = [];
    metrics = new CacheMetrics();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((t) => t.close()));
    await removeDir(directory);
  });

  async function open(capacityBytes: number, extra: Partial<DiskTierOptions> = {}): Promise<DiskTier> {
    const onEvict = (id: BlockId, block: Block, reason: string): void => void evictions.push({ id, block, reason });
    const tier = await DiskTier.open({ directory, capacityBytes, metrics, onEvict, ...extra });
    opened.push(tier);
    return tier;
  }

  it("detects a flipped data byte: counted, never returned, file removed, owner told", async () => {
    const corrupt: BlockId[] = [];
    const tier = await open(10_000, { onCorrupt: (id) => void corrupt.push(id) });
    const id = newBlockId();
    const tag = Buffer.from("owner-tag");
    await tier.put(id, sampleBlock(500, tag));
    const path = layout.blockPath(id);
    const bytes = await readFile(path);
    const offset = HEADER_BYTES + tag.length + 123;
    bytes[offset] = bytes[offset]! ^ 0x01;
    await writeFile(path, bytes);
    await expect(tier.get(id)).resolves.toBeUndefined();
    expect(await counterValue(metrics, "disk")).toBe(1);
    expect(await exists(path)).toBe(false);
    await expect(tier.has(id)).resolves.toBe(false);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
    expect(corrupt).toEqual([id]);
  });

  it("detects a flipped tag byte the same way", async () => {
    const tier = await open(10_000);
    const id = newBlockId();
    await tier.put(id, sampleBlock(50, Buffer.from("namespace/key")));
    const path = layout.blockPath(id);
    const bytes = await readFile(path);
    bytes[HEADER_BYTES + 2] = bytes[HEADER_BYTES + 2]! ^ 0x80;
    await writeFile(path, bytes);
    await expect(tier.get(id)).resolves.toBeUndefined();
    expect(await counterValue(metrics, "disk")).toBe(1);
    expect(await exists(path)).toBe(false);
  });

  it("evicts in LRU order (a get refreshes recency), awaiting onEvict before the unlink", async () => {
    let releaseHandler!: () => void;
    const gate = new Promise<void>((resolve) => (releaseHandler = resolve));
    const seen: { id: BlockId; fileThere: boolean }[] = [];
    const tier = await open(3000, {
      onEvict: async (id, block, reason) => {
        evictions.push({ id, block, reason });
        seen.push({ id, fileThere: await exists(layout.blockPath(id)) });
        await gate;
      },
    });
    const [a, b, c, d] = [newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    const blocks = new Map([a, b, c].map((id) => [id, sampleBlock(1000)] as const));
    for (const id of [a, b, c]) await tier.put(id, blocks.get(id)!);
    expect(await tier.get(a)).toBeDefined();
    let putDone = false;
    const putD = tier.put(d, sampleBlock(1000)).then(() => (putDone = true));
    try {
      await expect.poll(() => seen.length).toBe(1);
      expect(seen[0]).toEqual({ id: b, fileThere: true });
      expect(evictions[0]!.reason).toBe("capacity");
      expectSameBlock(evictions[0]!.block, blocks.get(b)!);
      expect(putDone).toBe(false);
      expect(await exists(layout.blockPath(b))).toBe(true);
    } finally {
      releaseHandler();
    }
    await putD;
    expect(await exists(layout.blockPath(b))).toBe(false);
    for (const id of [newBlockId(), newBlockId()]) await tier.put(id, sampleBlock(1000));
    expect(evictions.map((e) => e.id)).toEqual([b, c, a]);
    expect(tier.stats()).toEqual({ items: 3, bytes: 3000, capacityBytes: 3000 });
    expect(await blockFiles(layout)).toHaveLength(3);
  });

  it("still evicts when onEvict rejects, handing the error to onError", async () => {
    const errors: unknown[] = [];
    const tier = await open(1000, { onEvict: () => Promise.reject(new Error("spill failed")), onError: (err) => void errors.push(err) });
    const victim = newBlockId();
    await tier.put(victim, sampleBlock(600));
    await tier.put(newBlockId(), sampleBlock(600));
    expect(errors.map((e) => (e as Error).message)).toEqual(["spill failed"]);
    expect(await exists(layout.blockPath(victim))).toBe(false);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 600 });
  });

  it("removes crash-left temp files and bad block files at open, leaves foreign files", async () => {
    const first = await open(10_000);
    const good = newBlockId();
    await first.put(good, sampleBlock(100));
    await first.close();
    const bad = newBlockId();
    await writeFile(`${layout.tmpDir}/${newBlockId()}.0123abcd.tmp`, "half a block");
    await writeFile(layout.blockPath(bad), Buffer.alloc(HEADER_BYTES + 10, 7));
    const foreign = `${layout.shardDir(good.slice(0, 2))}/notes.txt`;
    await writeFile(foreign, "not ours");
    const corrupt: BlockId[] = [];
    const tier = await open(10_000, { onCorrupt: (id) => void corrupt.push(id) });
    expect(await readdir(layout.tmpDir)).toEqual([]);
    expect(corrupt).toEqual([bad]);
    expect(await exists(layout.blockPath(bad))).toBe(false);
    expect(await exists(foreign)).toBe(true);
    expect(await listIds(tier)).toEqual([good]);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 100 });
    expect(await counterValue(metrics, "disk")).toBe(1);
  });

  it("finds every block after a restart, with exact stats", async () => {
    const first = await open(100_000);
    const stored = Array.from({ length: 20 }, (_, i) => [newBlockId(), sampleBlock(i * 37, i % 2 ? Buffer.from(`tag-${i}`) : undefined)] as const);
    await first.putMany(stored);
    const before = first.stats();
    await first.close();
    const tier = await open(100_000);
    expect(tier.stats()).toEqual(before);
    for (const [id, block] of stored) expectSameBlock(await tier.get(id), block);
  });

  it("evicts a directory over capacity at open, oldest files first", async () => {
    const first = await open(10_000);
    const ids = [newBlockId(), newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    for (const id of ids) await first.put(id, sampleBlock(1000));
    await first.close();
    const ages = [3, 0, 4, 1, 2]; // ids[1] is oldest, then ids[3]
    await Promise.all(ids.map((id, i) => utimes(layout.blockPath(id), 1_000_000 + ages[i]!, 1_000_000 + ages[i]!)));
    const tier = await open(3000);
    expect(evictions.map((e) => e.id).sort()).toEqual([ids[1], ids[3]].sort());
    expect(tier.stats()).toEqual({ items: 3, bytes: 3000, capacityBytes: 3000 });
    expect(await blockFiles(layout)).toEqual([ids[0], ids[2], ids[4]].sort());
  });

  it("rejects an ENOSPC write with ERR_TIER_IO, leaving no temp file and stats unchanged", async () => {
    const fault = { on: false };
    const tier = await open(2000, { fs: faultyFs(fault) });
    const kept = newBlockId();
    await tier.put(kept, sampleBlock(1000));
    fault.on = true;
    const id = newBlockId();
    const failure = tier.put(id, sampleBlock(1000));
    await expectCode(failure, ErrorCode.TIER_IO);
    await expect(failure).rejects.toMatchObject({ retryable: true, cause: { code: "ENOSPC" } });
    expect(await readdir(layout.tmpDir)).toEqual([]);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 1000 });
    await expect(tier.has(id)).resolves.toBe(false);
    fault.on = false;
    await tier.put(id, sampleBlock(1000));
    expect(evictions).toEqual([]);
    expect(tier.stats()).toMatchObject({ items: 2, bytes: 2000 });
  });

  it("keeps stats exact and within capacity under 100 concurrent puts that overflow it", async () => {
    const tier = await open(10_000);
    const sizes = Array.from({ length: 100 }, (_, i) => 200 + (i % 5) * 100);
    const all = sizes.map((size) => [newBlockId(), sampleBlock(size)] as const);
    const peaks: number[] = [];
    await Promise.all(all.map(([id, block]) => tier.put(id, block).then(() => peaks.push(tier.stats().bytes))));
    expect(Math.max(...peaks)).toBeLessThanOrEqual(10_000);
    const ids = await listIds(tier);
    const sizeOf = new Map(all.map(([id, block]) => [id, block.data.byteLength]));
    const { items, bytes } = tier.stats();
    expect(items).toBe(ids.length);
    expect(bytes).toBe(ids.reduce((sum, id) => sum + sizeOf.get(id)!, 0));
    expect(bytes).toBeLessThanOrEqual(10_000);
    expect(await blockFiles(layout)).toEqual(ids);
    expect(evictions.length).toBe(100 - items);
    expect(await readdir(layout.tmpDir)).toEqual([]);
  });

  it("stays consistent under racing puts and deletes of one id", async () => {
    const tier = await open(5000);
    const id = newBlockId();
    const ops = Array.from({ length: 30 }, (_, i) => (i % 3 === 2 ? tier.delete(id) : tier.put(id, sampleBlock(100 * i))));
    await Promise.all(ops);
    const got = await tier.get(id);
    expect(tier.stats()).toEqual({ items: got ? 1 : 0, bytes: got?.data.byteLength ?? 0, capacityBytes: 5000 });
    expect(await blockFiles(layout)).toEqual(got ? [id] : []);
  });

  it("agrees with an LRU model on random operation sequences", async () => {
    const ids = Array.from({ length: 5 }, () => newBlockId());
    await fc.assert(
      fc.asyncProperty(opSequences(ids.length, 1000, 25), async (ops) => {
        const dir = await makeTempDir("disk-tier-model-");
        const evicted: BlockId[] = [];
        const tier = await DiskTier.open({ directory: dir, capacityBytes: 1000, onEvict: (id) => void evicted.push(id) });
        try {
          const model = new LruModel({ capacityBytes: 1000, charge: (size) => size, replaceBeforeEvict: false });
          await runAgainstModel(tier, model, ops, ids, evicted);
        } finally {
          await tier.close();
          await removeDir(dir);
        }
      }),
      { numRuns: 15 },
    );
  });
});
