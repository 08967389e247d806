import { existsSync, promises as fsp } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type Block, type BlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { directorySlots, findListing, homeSlot, PROBE_SLOTS, SLOT_BYTES } from "../../src/shared-directory.js";
import { encodeSharedHeader, newSharedMemoryFile, SHARED_HEADER_BYTES, sharedBlocksOffset, sharedHeaderMatches, sharedHeaderSlots } from "../../src/shared-memory-file.js";
import { SharedMemoryTier, type SharedMemoryTierOptions } from "../../storage/shared-memory-tier.js";
import { describeTierContract, expectSameBlock, listIds, sampleBlock } from "../contract/tier-contract.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

/** A directory on tmpfs when the machine has one (as in production), else under the temp dir. */
async function sharedDir(): Promise<string> {
  return existsSync("/dev/shm") ? fsp.mkdtemp("/dev/shm/datenlord-test-") : makeTempDir();
}

describeTierContract("SharedMemoryTier", async () => {
  const directory = await sharedDir();
  const tier = await SharedMemoryTier.open({ capacityBytes: 64 * 1024, directory });
  return { tier, capacityBytes: 64 * 1024, cleanup: async () => { await tier.close(); await removeDir(directory); } };
});

type Eviction = [BlockId, Block];
const opened: { tier: SharedMemoryTier; directory: string }[] = [];

async function openTier(options: Omit<SharedMemoryTierOptions, "directory">): Promise<{ tier: SharedMemoryTier; evictions: Eviction[]; metrics: CacheMetrics }> {
  const directory = await sharedDir();
  const evictions: Eviction[] = [];
  const metrics = new CacheMetrics();
  const tier = await SharedMemoryTier.open({ metrics, onEvict: (id, block) => void evictions.push([id, block]), ...options, directory });
  opened.push({ tier, directory });
  return { tier, evictions, metrics };
}

afterEach(async () => {
  for (const { tier, directory } of opened.splice(0)) {
    await tier.close();
    await removeDir(directory);
  }
});

async function fileBytes(tier: SharedMemoryTier, offset: number, length: number): Promise<Buffer> {
  const handle = await fsp.open(tier.file.path, "r");
  try {
    const out = Buffer.alloc(length);
    await handle.read(out, 0, length, offset);
    return out;
  } finally {
    await handle.close();
  }
}

/** What the file's directory lists for `id`, read as a same-host client reads it. */
async function listingOf(tier: SharedMemoryTier, id: BlockId): Promise<{ offset: number; length: number; checksum: number } | undefined> {
  const slots = sharedHeaderSlots(await fileBytes(tier, 0, 64));
  const window = await fileBytes(tier, SHARED_HEADER_BYTES + homeSlot(id, slots) * SLOT_BYTES, PROBE_SLOTS * SLOT_BYTES);
  return findListing(window, Buffer.from(id, "hex"))?.listing;
}

async function counterValue(metrics: CacheMetrics, name: "checksumFailures" | "tierHits" | "tierMisses"): Promise<number> {
  const { values } = await metrics[name].get();
  return values.find((v) => v.labels.tier === "memory")?.value ?? 0;
}

describe("SharedMemoryTier", () => {
  it("keeps its blocks in a 0600 file carrying its token, removed on close", async () => {
    const { tier } = await openTier({ capacityBytes: 4096 });
    const stat = await fsp.stat(tier.file.path);
    expect(stat.mode & 0o777).toBe(0o600);
    expect(stat.size).toBe(sharedBlocksOffset(directorySlots(4096)) + 4096);
    expect(sharedHeaderMatches(await fileBytes(tier, 0, 64), tier.file.token)).toBe(true);
    expect(sharedHeaderSlots(await fileBytes(tier, 0, 64))).toBe(directorySlots(4096));
    await tier.close();
    expect(existsSync(tier.file.path)).toBe(false);
  });

  it("writes its header and directory in full at creation (no holes a client's mapping could fault on); the block region stays sparse", async () => {
    const capacityBytes = 64 * 1024 * 1024;
    const { tier } = await openTier({ capacityBytes });
    const stat = await fsp.stat(tier.file.path);
    const written = sharedBlocksOffset(directorySlots(capacityBytes));
    expect(stat.blocks * 512).toBeGreaterThanOrEqual(written);
    expect(stat.blocks * 512).toBeLessThan(written + capacityBytes / 2);
    expect((await fileBytes(tier, SHARED_HEADER_BYTES, written - SHARED_HEADER_BYTES)).every((b) => b === 0)).toBe(true);
  });

  it("has clients accept only a header with its token and a power-of-two directory", () => {
    const token = "ab".repeat(16);
    expect(sharedHeaderMatches(encodeSharedHeader(token, 1024), token)).toBe(true);
    expect(sharedHeaderMatches(encodeSharedHeader(token, 1024), "cd".repeat(16))).toBe(false);
    for (const slots of [0, 1000, 3]) expect(sharedHeaderMatches(encodeSharedHeader(token, slots), token)).toBe(false);
  });

  it("names its file by an absolute path, also for a relative directory", async () => {
    const directory = await sharedDir();
    const relative = path.relative(process.cwd(), directory);
    const tier = await SharedMemoryTier.open({ capacityBytes: 4096, directory: relative });
    try {
      expect(tier.file.path.startsWith(`${directory}/`)).toBe(true);
    } finally {
      await tier.close();
      await removeDir(directory);
    }
  });

  it("removes files left by dead processes when it opens, keeps those of live ones", async () => {
    const directory = await sharedDir();
    try {
      const dead = newSharedMemoryFile(directory, 2 ** 22 + 12345); // above any pid_max: no such process
      const live = newSharedMemoryFile(directory, process.pid);
      await fsp.writeFile(dead.path, "x");
      await fsp.writeFile(live.path, "x");
      const tier = await SharedMemoryTier.open({ capacityBytes: 4096, directory });
      await tier.close();
      expect(existsSync(dead.path)).toBe(false);
      expect(existsSync(live.path)).toBe(true);
    } finally {
      await removeDir(directory);
    }
  });

  it("refuses a directory that is missing or smaller than the capacity, naming it", async () => {
    await expect(SharedMemoryTier.open({ capacityBytes: 4096, directory: "/no/such/dir" })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining("/no/such/dir") });
    const directory = await sharedDir();
    try {
      await expect(SharedMemoryTier.open({ capacityBytes: 2 ** 52, directory })).rejects.toMatchObject({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining("bytes free") });
    } finally {
      await removeDir(directory);
    }
  });

  it("locates a block where its bytes are in the file, refreshing its recency", async () => {
    const { tier, evictions, metrics } = await openTier({ capacityBytes: 300 });
    const [a, b, c, d] = [newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    const blocks = new Map([a, b, c].map((id) => [id, sampleBlock(100, Buffer.from(`tag-${id}`))] as const));
    for (const [id, block] of blocks) await tier.put(id, block);
    const where = tier.locate(a)!;
    expect(where).toMatchObject({ length: 100, checksum: blocks.get(a)!.checksum, tag: blocks.get(a)!.tag });
    expect(Buffer.compare(await fileBytes(tier, where.offset, where.length), Buffer.from(blocks.get(a)!.data))).toBe(0);
    expect(tier.release(where.lease)).toBe(true);
    expect(tier.release(where.lease)).toBe(false);
    await tier.put(d, sampleBlock(100));
    expect(evictions.map(([id]) => id)).toEqual([b]);
    expectSameBlock(evictions[0]![1], blocks.get(b)!);
    expect(tier.locate(b)).toBeUndefined();
    expect(await counterValue(metrics, "tierHits")).toBe(1);
    expect(await counterValue(metrics, "tierMisses")).toBe(1);
  });

  it("lists each block in the file's directory where its bytes are, and unlists it when deleted, evicted or replaced", async () => {
    const { tier, evictions } = await openTier({ capacityBytes: 300 });
    const [a, b, c, d] = [newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    const blocks = new Map([a, b, c].map((id) => [id, sampleBlock(100)] as const));
    for (const [id, block] of blocks) await tier.put(id, block);
    for (const [id, block] of blocks) {
      const listing = (await listingOf(tier, id))!;
      expect(listing).toMatchObject({ length: 100, checksum: block.checksum });
      expect(Buffer.compare(await fileBytes(tier, listing.offset, listing.length), Buffer.from(block.data))).toBe(0);
    }
    await tier.delete(a);
    expect(await listingOf(tier, a)).toBeUndefined();
    await tier.put(d, sampleBlock(100));
    await tier.put(a, sampleBlock(100)); // evicts b, the least recently used
    expect(evictions.map(([id]) => id)).toEqual([b]);
    expect(await listingOf(tier, b)).toBeUndefined();
    const replacement = sampleBlock(50);
    const before = (await listingOf(tier, c))!;
    await tier.put(c, replacement);
    const after = (await listingOf(tier, c))!;
    expect(after).toMatchObject({ length: 50, checksum: replacement.checksum });
    expect(Buffer.compare(await fileBytes(tier, after.offset, 50), Buffer.from(replacement.data))).toBe(0);
    expect(before.checksum).not.toBe(after.checksum);
  });

  it("takes TOUCHed blocks as read: most recently used and counted, unknown ids ignored", async () => {
    const { tier, evictions, metrics } = await openTier({ capacityBytes: 300 });
    const [a, b, c, d] = [newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    for (const id of [a, b, c]) await tier.put(id, sampleBlock(100));
    tier.touch([a, newBlockId()]);
    await tier.put(d, sampleBlock(100));
    expect(evictions.map(([id]) => id)).toEqual([b]);
    expect(await counterValue(metrics, "tierHits")).toBe(1);
    expect(await counterValue(metrics, "tierMisses")).toBe(0);
  });

  it("does not reuse a leased block's bytes until the lease is released, though the block is evicted", async () => {
    const { tier, evictions } = await openTier({ capacityBytes: 100 });
    const [a, b] = [newBlockId(), newBlockId()];
    const blockA = sampleBlock(100);
    await tier.put(a, blockA);
    const where = tier.locate(a)!;
    const putB = tier.put(b, sampleBlock(100));
    await expect.poll(() => evictions.map(([id]) => id)).toEqual([a]);
    await expect(tier.has(a)).resolves.toBe(false);
    const state = await Promise.race([putB.then(() => "stored"), new Promise((resolve) => setImmediate(resolve, "waiting"))]);
    expect(state).toBe("waiting");
    expect(Buffer.compare(await fileBytes(tier, where.offset, where.length), Buffer.from(blockA.data))).toBe(0);
    tier.release(where.lease);
    await putB;
    await expect(tier.has(b)).resolves.toBe(true);
  });

  it("reuses a leased extent once the lease expires, if the client never releases it", async () => {
    const { tier } = await openTier({ capacityBytes: 100, leaseMs: 50 });
    const a = newBlockId();
    await tier.put(a, sampleBlock(100));
    const where = tier.locate(a)!;
    const b = newBlockId();
    const started = Date.now();
    await tier.put(b, sampleBlock(100));
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(tier.release(where.lease)).toBe(false);
    await expect(tier.has(b)).resolves.toBe(true);
  });

  it("lets the put or delete of an id called last win, whatever order the writes finish in", async () => {
    const { tier } = await openTier({ capacityBytes: 64 * 1024 });
    const id = newBlockId();
    const [first, second] = [sampleBlock(30000), sampleBlock(10)];
    await Promise.all([tier.put(id, first), tier.put(id, second)]);
    expectSameBlock(await tier.get(id), second);
    const third = sampleBlock(20000);
    const writing = tier.put(id, third);
    await tier.delete(id);
    await writing;
    await expect(tier.has(id)).resolves.toBe(false);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
    await tier.put(id, third);
    expectSameBlock(await tier.get(id), third);
  });

  it("drops a block whose bytes changed in the file: a counted miss, owner told", async () => {
    const corrupt: BlockId[] = [];
    const { tier, metrics } = await openTier({ capacityBytes: 1000, onCorrupt: (id) => void corrupt.push(id) });
    const id = newBlockId();
    await tier.put(id, makeBlock(Buffer.from("some kv bytes")));
    const where = tier.locate(id)!;
    tier.release(where.lease);
    const handle = await fsp.open(tier.file.path, "r+");
    await handle.write(Buffer.from("X"), 0, 1, where.offset);
    await handle.close();
    await expect(tier.get(id)).resolves.toBeUndefined();
    await expect(tier.has(id)).resolves.toBe(false);
    expect(await counterValue(metrics, "checksumFailures")).toBe(1);
    expect(corrupt).toEqual([id]);
  });

  it("lends a block in a pooled buffer that comes back on release; a miss lends nothing and counts nothing", async () => {
    const { tier, metrics } = await openTier({ capacityBytes: 4 * 1024 * 1024 });
    const [a, b] = [newBlockId(), newBlockId()];
    const [blockA, blockB] = [sampleBlock(1024 * 1024), sampleBlock(1024 * 1024 - 7)];
    await tier.put(a, blockA);
    await tier.put(b, blockB);
    const first = (await tier.lend(a))!;
    expectSameBlock(first.block, blockA);
    const memory = first.block.data.buffer;
    first.release();
    const second = (await tier.lend(b))!;
    expect(second.block.data.buffer).toBe(memory);
    expectSameBlock(second.block, blockB);
    second.release();
    await expect(tier.lend(newBlockId())).resolves.toBeUndefined();
    expect(await counterValue(metrics, "tierHits")).toBe(2);
    expect(await counterValue(metrics, "tierMisses")).toBe(0);
  });

  it("publishes a reserved block once committed, with the bytes the client wrote in place", async () => {
    const { tier, evictions } = await openTier({ capacityBytes: 200 });
    const [a, b] = [newBlockId(), newBlockId()];
    await tier.put(a, sampleBlock(150));
    const block = sampleBlock(120, Buffer.from("owner"));
    const where = await tier.reserve(b, 120, block.checksum, block.tag);
    expect(evictions.map(([id]) => id)).toEqual([a]); // room is made at reservation time
    await expect(tier.has(b)).resolves.toBe(false); // not a block until committed
    const handle = await fsp.open(tier.file.path, "r+");
    await handle.write(block.data, 0, 120, where.offset);
    await handle.close();
    tier.commit(b, where.lease);
    expectSameBlock(await tier.get(b), block);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 120 });
    expect(() => tier.commit(b, where.lease)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it("frees a reservation never committed when its lease expires, and refuses its late commit", async () => {
    const { tier } = await openTier({ capacityBytes: 100, leaseMs: 30 });
    const [a, b] = [newBlockId(), newBlockId()];
    const where = await tier.reserve(a, 100, 0, undefined);
    await tier.put(b, sampleBlock(100)); // waits for the reservation's lease to expire
    expect(() => tier.commit(a, where.lease)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    await expect(tier.has(b)).resolves.toBe(true);
    await expect(tier.reserve(newBlockId(), 101, 0, undefined)).rejects.toMatchObject({ code: ErrorCode.BLOCK_TOO_LARGE });
  });

  it("charges an empty block one byte, so their number is bounded too", async () => {
    const { tier, evictions } = await openTier({ capacityBytes: 16 });
    for (let i = 0; i < 20; i++) await tier.put(newBlockId(), sampleBlock(0));
    expect(tier.stats()).toEqual({ items: 16, bytes: 0, capacityBytes: 16 });
    expect(evictions).toHaveLength(4);
  });

  it("never returns wrong bytes, stays within capacity and lists exactly what it holds under random puts, gets, deletes and leases", async () => {
    const ids = Array.from({ length: 6 }, () => newBlockId());
    const op = fc.tuple(fc.constantFrom("put", "get", "delete", "locate"), fc.nat(ids.length - 1), fc.integer({ min: 0, max: 400 }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const { tier, evictions } = await openTier({ capacityBytes: 1000 });
        const last = new Map<BlockId, Block>();
        for (const [kind, i, size] of ops) {
          const id = ids[i]!;
          if (kind === "put") {
            const block = sampleBlock(size);
            await tier.put(id, block);
            last.set(id, block);
          } else if (kind === "delete") {
            await tier.delete(id);
            last.delete(id);
          } else if (kind === "get") {
            const got = await tier.get(id);
            if (got !== undefined) expectSameBlock(got, last.get(id)!);
          } else {
            const where = tier.locate(id);
            if (where !== undefined) {
              expect(Buffer.compare(await fileBytes(tier, where.offset, where.length), Buffer.from(last.get(id)!.data))).toBe(0);
              if (size % 2 === 0) tier.release(where.lease);
            }
          }
          expect(tier.stats().bytes).toBeLessThanOrEqual(1000);
        }
        for (const [id, block] of evictions) if (last.get(id) === block) last.delete(id);
        const held = await listIds(tier);
        for (const id of held) expectSameBlock(await tier.get(id), last.get(id)!);
        for (const id of ids) {
          const listing = await listingOf(tier, id);
          expect(listing !== undefined).toBe(held.includes(id));
          if (listing !== undefined) expect(Buffer.compare(await fileBytes(tier, listing.offset, listing.length), Buffer.from(last.get(id)!.data))).toBe(0);
        }
      }),
      { numRuns: 40 },
    );
  });
});
