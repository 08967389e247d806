import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type BlockId } from "../../src/block.js";
import { encodeKey } from "../../src/keys.js";
import { silentLogger } from "../../src/node/logger.js";
import { Sweeper } from "../../src/node/sweeper.js";
import type { BlockDescriptor } from "../../metadata/metadata-store.js";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import { MemoryTier } from "../../storage/memory-tier.js";

const NS = "ns";
const GRACE = 1000;
const key = (k: string) => encodeKey(k, 1024);

/** A sweeper over in-memory metadata and a memory tier standing in for S3, on a fake clock. */
async function setup(self?: { nodeId: string; holds(id: BlockId): Promise<boolean> }) {
  let now = 1_000_000;
  const store = new MemoryMetadataStore({ now: () => now });
  const s3 = new MemoryTier({ capacityBytes: 1 << 20 });
  const sweeper = new Sweeper({ store, s3, namespace: NS, graceMs: GRACE, logger: silentLogger, now: () => now, ...(self === undefined ? {} : { self }) });
  const put = async (k: string, patch: Partial<BlockDescriptor>, namespace = NS): Promise<BlockId> => {
    const blockId = newBlockId();
    await store.insertIfAbsent(namespace, key(k), { blockId, size: 1, checksum: 0, holders: [], s3: false, createdAt: now, ...patch });
    return blockId;
  };
  const read = async (k: string, namespace = NS) => (await store.get(namespace, key(k)))?.descriptor;
  return { store, s3, sweeper, put, read, advance: (ms: number) => (now += ms) };
}

describe("Sweeper", () => {
  it("drops a holder only after it has been absent for the grace period, then deletes entries with no copy", async () => {
    const t = await setup();
    const live = await t.store.registerNode({ nodeId: "live", address: "h:1", adminAddress: "", startedAt: 0 }, 3600);
    await t.put("only-dead", { holders: ["dead"] });
    await t.put("mixed", { holders: ["dead", "live"] }, "other-ns");
    await t.put("dead-in-s3", { holders: ["dead"], s3: true });
    expect(await t.sweeper.sweepOnce()).toMatchObject({ entries: 3, holdersRemoved: 0, entriesDeleted: 0 });
    t.advance(GRACE - 1);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 0 });
    t.advance(1);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 3, entriesDeleted: 1 });
    expect(await t.read("only-dead")).toBeUndefined();
    expect((await t.read("mixed", "other-ns"))?.holders).toEqual(["live"]);
    expect(await t.read("dead-in-s3")).toMatchObject({ holders: [], s3: true });
    await live.close();
  });

  it("restarts the grace period of a holder that came back in between", async () => {
    const t = await setup();
    await t.put("k", { holders: ["flappy"] });
    await t.sweeper.sweepOnce();
    t.advance(GRACE / 2);
    const back = await t.store.registerNode({ nodeId: "flappy", address: "h:1", adminAddress: "", startedAt: 0 }, 3600);
    await t.sweeper.sweepOnce();
    await back.close();
    t.advance(GRACE / 2);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 0 });
    t.advance(GRACE);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 1, entriesDeleted: 1 });
  });

  it("marks descriptors whose block is already in S3, and deletes only objects unreferenced for the grace period", async () => {
    const t = await setup();
    const live = await t.store.registerNode({ nodeId: "live", address: "h:1", adminAddress: "", startedAt: 0 }, 3600);
    const uploaded = await t.put("uploaded", { holders: ["live"] });
    await t.s3.put(uploaded, makeBlock(Buffer.from("a")));
    const orphan = newBlockId();
    const late = newBlockId();
    await t.s3.put(orphan, makeBlock(Buffer.from("b")));
    await t.s3.put(late, makeBlock(Buffer.from("c")));
    expect(await t.sweeper.sweepOnce()).toMatchObject({ s3Marked: 1, objectsDeleted: 0 });
    expect(await t.read("uploaded")).toMatchObject({ s3: true, holders: ["live"] });
    // `late` gets its descriptor after the first sweep (an insert racing an upload): it must survive.
    await t.store.insertIfAbsent(NS, key("late"), { blockId: late, size: 1, checksum: 0, holders: ["live"], s3: false, createdAt: 0 });
    t.advance(GRACE);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ objectsDeleted: 1, s3Marked: 1 });
    expect(await t.s3.has(orphan)).toBe(false);
    expect(await t.s3.has(late)).toBe(true);
    expect(await t.s3.has(uploaded)).toBe(true);
    await live.close();
  });

  it("keeps objects referenced by descriptors of any namespace: a node spills blocks of every namespace it serves", async () => {
    const t = await setup();
    const other = await t.put("other-model-key", { holders: [], s3: true }, "another-model");
    await t.s3.put(other, makeBlock(Buffer.from("x")));
    await t.sweeper.sweepOnce();
    t.advance(2 * GRACE);
    expect(await t.sweeper.sweepOnce()).toMatchObject({ objectsDeleted: 0 });
    expect(await t.s3.has(other)).toBe(true);
    expect(await t.read("other-model-key", "another-model")).toMatchObject({ blockId: other, s3: true });
  });

  it("drops this node's claim to blocks it no longer holds (a crash lost its memory), at once and only its own", async () => {
    const held = new Set<BlockId>();
    const t = await setup({ nodeId: "me", holds: async (id) => held.has(id) });
    const me = await t.store.registerNode({ nodeId: "me", address: "h:1", adminAddress: "", startedAt: 0 }, 3600);
    const other = await t.store.registerNode({ nodeId: "other", address: "h:2", adminAddress: "", startedAt: 0 }, 3600);
    const kept = await t.put("kept", { holders: ["me"] });
    held.add(kept);
    await t.put("lost-only-copy", { holders: ["me"] });
    await t.put("lost-shared", { holders: ["me", "other"] });
    await t.put("lost-in-s3", { holders: ["me"], s3: true });
    await t.put("not-mine", { holders: ["other"] });
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 3, entriesDeleted: 1 });
    expect(await t.read("kept")).toMatchObject({ holders: ["me"] });
    expect(await t.read("lost-only-copy")).toBeUndefined();
    expect(await t.read("lost-shared")).toMatchObject({ holders: ["other"] });
    expect(await t.read("lost-in-s3")).toMatchObject({ holders: [], s3: true });
    expect(await t.read("not-mine")).toMatchObject({ holders: ["other"] });
    await me.close();
    await other.close();
  });

  it("a claim given up names an S3 copy uploaded after the sweep listed S3, instead of deleting the entry", async () => {
    const t = await setup({ nodeId: "me", holds: async () => false });
    const me = await t.store.registerNode({ nodeId: "me", address: "h:1", adminAddress: "", startedAt: 0 }, 3600);
    const id = await t.put("went-to-s3", { holders: ["me"] });
    await t.s3.put(id, makeBlock(Buffer.from("z")));
    // The listing the sweep starts with predates the upload.
    const listing = t.s3.ids.bind(t.s3);
    t.s3.ids = async function* (options) {
      for await (const seen of listing(options)) if (seen !== id) yield seen;
    };
    expect(await t.sweeper.sweepOnce()).toMatchObject({ holdersRemoved: 1, entriesDeleted: 0 });
    expect(await t.read("went-to-s3")).toMatchObject({ blockId: id, holders: [], s3: true });
    await me.close();
  });
});
