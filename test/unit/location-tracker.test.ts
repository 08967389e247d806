import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type BlockId } from "../../src/block.js";
import { encodeBlockTag, type BlockOwner } from "../../src/block-tag.js";
import { ErrorCode, isKvCacheError } from "../../src/errors.js";
import { encodeKey } from "../../src/keys.js";
import { LocationTracker, type BlockMove } from "../../metadata/location-tracker.js";
import type { BlockDescriptor } from "../../metadata/metadata-store.js";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import { waitFor } from "../helpers/wait-for.js";

const NS = "model-a";
const ME = "node-b";

function owner(key: string): BlockOwner {
  return { namespace: NS, key: encodeKey(key, 1024) };
}

function descriptor(blockId: BlockId, patch: Partial<BlockDescriptor> = {}): BlockDescriptor {
  return { blockId, size: 3, checksum: 1, holders: [], s3: false, createdAt: 1, ...patch };
}

async function setup(patch: Partial<BlockDescriptor> = {}, key = "k/1") {
  const store = new MemoryMetadataStore();
  const errors: unknown[] = [];
  const id = newBlockId();
  await store.insertIfAbsent(NS, owner(key).key, descriptor(id, patch));
  const tracker = new LocationTracker({ store, nodeId: ME, onError: (err) => errors.push(err) });
  const read = async (): Promise<BlockDescriptor | undefined> => (await store.get(NS, owner(key).key))?.descriptor;
  return { store, tracker, id, errors, read, owner: owner(key) };
}

function move(id: BlockId, reason: BlockMove["reason"], from: string, to: string, key = "k/1"): BlockMove {
  return { id, reason, from, to, block: makeBlock(Buffer.from("abc"), encodeBlockTag(owner(key))) };
}

describe("LocationTracker", () => {
  it("held adds this node once, keeping holders sorted", async () => {
    const t = await setup({ holders: ["node-a", "node-c"] });
    expect(await t.tracker.held(t.id, t.owner)).toBe(true);
    expect(await t.tracker.held(t.id, t.owner)).toBe(true);
    expect((await t.read())?.holders).toEqual(["node-a", "node-b", "node-c"]);
  });

  it("released removes this node and deletes an entry left with no copy", async () => {
    const shared = await setup({ holders: ["node-a", ME] });
    await shared.tracker.released(shared.id, shared.owner);
    expect((await shared.read())?.holders).toEqual(["node-a"]);

    const inS3 = await setup({ holders: [ME], s3: true });
    await inS3.tracker.released(inS3.id, inS3.owner);
    expect(await inS3.read()).toMatchObject({ holders: [], s3: true });

    const last = await setup({ holders: [ME] });
    await last.tracker.released(last.id, last.owner);
    expect(await last.read()).toBeUndefined();
  });

  it("storedInS3 marks the S3 copy", async () => {
    const t = await setup({ holders: [ME] });
    await t.tracker.storedInS3(t.id, t.owner);
    expect(await t.read()).toMatchObject({ s3: true, holders: [ME] });
  });

  it("never touches a key overwritten with another block, nor creates a missing one", async () => {
    const t = await setup({ holders: [ME] });
    const stale = newBlockId();
    expect(await t.tracker.released(stale, t.owner)).toBe(false);
    expect(await t.tracker.held(stale, t.owner)).toBe(false);
    expect(await t.tracker.storedInS3(stale, t.owner)).toBe(false);
    expect(await t.read()).toEqual(descriptor(t.id, { holders: [ME] }));
    expect(await t.tracker.held(t.id, owner("absent"))).toBe(false);
    expect(await t.store.get(NS, owner("absent").key)).toBeUndefined();
  });

  it("applies a spill reported before the client published the descriptor, once it appears; never creates one", async () => {
    const store = new MemoryMetadataStore();
    let attempts = 0;
    const update = store.update.bind(store);
    store.update = (...args: Parameters<MemoryMetadataStore["update"]>) => (attempts++, update(...args));
    const tracker = new LocationTracker({ store, nodeId: ME });
    const id = newBlockId();
    // A block larger than memory goes straight to S3 during its PUT: the move comes first.
    const applied = tracker.onMove(move(id, "spilled", "memory", "s3", "early"));
    await waitFor(() => attempts >= 1, { what: "the tracker's first update" });
    await store.insertIfAbsent(NS, owner("early").key, descriptor(id, { holders: [ME] }));
    await applied;
    expect((await store.get(NS, owner("early").key))?.descriptor).toMatchObject({ blockId: id, holders: [], s3: true });
    const never = newBlockId();
    expect(await tracker.released(never, owner("never"))).toBe(false);
    expect(await store.get(NS, owner("never").key)).toBeUndefined();
  });

  it("maps a spill to S3-copy-then-release, keeping the entry and other holders", async () => {
    const t = await setup({ holders: [ME] });
    await t.tracker.onMove(move(t.id, "spilled", "disk", "s3"));
    expect(await t.read()).toMatchObject({ blockId: t.id, holders: [], s3: true });
    const shared = await setup({ holders: ["node-a", ME] });
    await shared.tracker.onMove(move(shared.id, "spilled", "memory", "s3"));
    expect(await shared.read()).toMatchObject({ holders: ["node-a"], s3: true });
  });

  it("maps dropped to release, promoted from S3 to held, and ignores demotions and local promotions", async () => {
    const t = await setup({ holders: ["node-a"], s3: true });
    await t.tracker.onMove(move(t.id, "promoted", "s3", "memory"));
    expect((await t.read())?.holders).toEqual(["node-a", ME]);
    await t.tracker.onMove(move(t.id, "demoted", "memory", "disk"));
    expect((await t.read())?.holders).toEqual(["node-a", ME]);
    await t.tracker.onMove(move(t.id, "dropped", "disk", "none"));
    expect((await t.read())?.holders).toEqual(["node-a"]);
    await t.tracker.onMove(move(t.id, "promoted", "disk", "memory"));
    expect((await t.read())?.holders).toEqual(["node-a"]);
  });

  it("ignores moves of untagged blocks", async () => {
    const t = await setup({ holders: [ME] });
    await t.tracker.onMove({ id: t.id, reason: "dropped", from: "disk", to: "none", block: makeBlock(Buffer.from("x")) });
    await t.tracker.onMove({ id: t.id, reason: "dropped", from: "disk", to: "none" });
    expect((await t.read())?.holders).toEqual([ME]);
  });

  it("releases after a corrupt copy only when no local copy is left", async () => {
    const store = new MemoryMetadataStore();
    const id = newBlockId();
    await store.insertIfAbsent(NS, owner("k/1").key, descriptor(id, { holders: [ME], s3: true }));
    let local = true;
    const tracker = new LocationTracker({ store, nodeId: ME, holdsLocally: async () => local });
    await tracker.onMove(move(id, "corrupt", "memory", "none"));
    expect((await store.get(NS, owner("k/1").key))?.descriptor.holders).toEqual([ME]);
    local = false;
    await tracker.onMove(move(id, "corrupt", "disk", "none"));
    expect((await store.get(NS, owner("k/1").key))?.descriptor.holders).toEqual([]);
  });

  it("applies updates of one block in the order asked: a spill never overtakes a later promotion", async () => {
    const t = await setup({ holders: [ME] });
    const moves = [move(t.id, "spilled", "disk", "s3"), move(t.id, "promoted", "s3", "memory"), move(t.id, "spilled", "disk", "s3"), move(t.id, "promoted", "s3", "memory")];
    void Promise.all(moves.map((m) => t.tracker.onMove(m)));
    await t.tracker.idle();
    expect(await t.read()).toMatchObject({ holders: [ME], s3: true });
  });

  it("reports store failures to onError and never rejects", async () => {
    const t = await setup({ holders: [ME] });
    await t.store.close();
    await expect(t.tracker.released(t.id, t.owner)).resolves.toBe(false);
    await expect(t.tracker.onMove(move(t.id, "spilled", "disk", "s3"))).resolves.toBeUndefined();
    expect(t.errors).toHaveLength(2);
    expect(t.errors.every((e) => isKvCacheError(e, ErrorCode.CLOSED))).toBe(true);
  });
});
