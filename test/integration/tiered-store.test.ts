import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { open } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { newBlockId, type Block, type BlockId } from "../../src/block.js";
import type { TierMove } from "../../storage/tier-events.js";
import { DiskLayout } from "../../storage/disk-files.js";
import { diskTier, memoryTier, s3Tier } from "../../storage/tier-factories.js";
import { TieredStore } from "../../storage/tiered-store.js";
import { describeTierContract, expectSameBlock, sampleBlock } from "../contract/tier-contract.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { testS3, uniqueName } from "../helpers/env.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix, listKeys, testS3Config } from "../helpers/s3-objects.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const KiB = 1024;
const NAMESPACE = "model-x";

interface Opened {
  readonly store: TieredStore;
  readonly moves: TierMove[];
  readonly errors: unknown[];
  readonly dir: string;
  readonly prefix: string;
}

/** memory + disk + S3 under a fresh directory and key prefix; `release` undoes it all. */
async function openStack(memory: number, disk: number): Promise<Opened & { release: () => Promise<void> }> {
  const dir = await makeTempDir();
  const prefix = uniqueName("tiered");
  const [moves, errors] = [[] as TierMove[], [] as unknown[]];
  const store = await TieredStore.open({
    memory: memoryTier({ capacityBytes: memory }),
    disk: diskTier({ directory: dir, capacityBytes: disk }),
    s3: s3Tier({ config: testS3Config(testS3(), prefix), namespace: NAMESPACE }),
    onMove: (move) => moves.push(move),
    onError: (err) => errors.push(err),
  });
  const release = async (): Promise<void> => {
    await store.close();
    await removeDir(dir);
    const client = makeTestS3Client(testS3());
    await deletePrefix(client, testS3().bucket, `${prefix}/`);
    client.destroy();
  };
  return { store, moves, errors, dir, prefix, release };
}

describeTierContract("TieredStore (memory + disk + S3)", async () => {
  const { store, release } = await openStack(16 * KiB, 32 * KiB);
  return { tier: store, capacityBytes: Infinity, cleanup: release };
});

async function openStore(memory: number, disk: number): Promise<Opened> {
  const opened = await openStack(memory, disk);
  cleanupAfterTest(opened.release);
  return opened;
}

function movesOf(moves: TierMove[], reason: TierMove["reason"]): [BlockId, string, string][] {
  return moves.filter((m) => m.reason === reason).map((m) => [m.id, m.from, m.to]);
}

/** Puts `count` tagged blocks one by one, checking after each put that memory and disk stay within capacity. */
async function fill(store: TieredStore, count: number, size: number): Promise<[BlockId, Block][]> {
  const stored: [BlockId, Block][] = [];
  for (let i = 0; i < count; i++) {
    const entry: [BlockId, Block] = [newBlockId(), sampleBlock(size, Buffer.from(`${NAMESPACE}/key-${i}`))];
    await store.put(...entry);
    stored.push(entry);
    const { memory, disk } = store.tierStats();
    expect(memory!.bytes).toBeLessThanOrEqual(memory!.capacityBytes);
    expect(disk!.bytes).toBeLessThanOrEqual(disk!.capacityBytes);
  }
  return stored;
}

async function flipLastByte(path: string): Promise<void> {
  const file = await open(path, "r+");
  try {
    const { size } = await file.stat();
    const { buffer } = await file.read(Buffer.alloc(1), 0, 1, size - 1);
    await file.write(Buffer.from([buffer[0]! ^ 0xff]), 0, 1, size - 1);
  } finally {
    await file.close();
  }
}

describe("TieredStore over memory + disk + S3", () => {
  it("overflows memory to disk and disk to S3; every block loads, spilled ones are promoted back", async () => {
    const { store, moves, errors, prefix } = await openStore(16 * KiB, 32 * KiB);
    const stored = await fill(store, 16, 4 * KiB);
    const ids = stored.map(([id]) => id);
    expect(movesOf(moves, "demoted")).toEqual(ids.slice(0, 12).map((id) => [id, "memory", "disk"]));
    expect(movesOf(moves, "spilled")).toEqual(ids.slice(0, 4).map((id) => [id, "disk", "s3"]));
    expect(moves.find((m) => m.reason === "spilled")!.block!.tag).toEqual(stored[0]![1].tag);
    const client = makeTestS3Client(testS3());
    cleanupAfterTest(() => client.destroy());
    const keys = await listKeys(client, testS3().bucket, `${prefix}/`);
    expect(keys).toEqual(ids.slice(0, 4).map((id) => `${prefix}/${NAMESPACE}/${id}`).sort());

    // The first block now lives only in S3: memory and disk let it go.
    const [first, firstBlock] = stored[0]!;
    expect(store.tierStats()).toMatchObject({ memory: { items: 4 }, disk: { items: 8 } });
    expectSameBlock(await store.get(first), firstBlock);
    expect(movesOf(moves, "promoted")).toEqual([[first, "s3", "memory"]]);
    for (const [id, block] of stored) expectSameBlock(await store.get(id), block);
    expect(movesOf(moves, "dropped")).toEqual([]);
    expect(errors).toEqual([]);
  });

  it("reports a corrupt S3 copy and misses", async () => {
    const { store, moves, prefix } = await openStore(8 * KiB, 8 * KiB);
    const [first] = (await fill(store, 5, 4 * KiB))[0]!;
    expect(movesOf(moves, "spilled")[0]).toEqual([first, "disk", "s3"]);
    const client = makeTestS3Client(testS3());
    cleanupAfterTest(() => client.destroy());
    const key = `${prefix}/${NAMESPACE}/${first}`;
    const object = await client.send(new GetObjectCommand({ Bucket: testS3().bucket, Key: key }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    body[0]! ^= 0xff;
    await client.send(new PutObjectCommand({ Bucket: testS3().bucket, Key: key, Body: body, Metadata: object.Metadata }));
    await expect(store.get(first)).resolves.toBeUndefined();
    expect(movesOf(moves, "corrupt")).toEqual([[first, "s3", "none"]]);
  });

  it("falls through a corrupt disk copy to the S3 copy", async () => {
    const { store, moves, dir } = await openStore(8 * KiB, 16 * KiB);
    const stored = await fill(store, 7, 4 * KiB);
    const [first, firstBlock] = stored[0]!;
    expect(movesOf(moves, "spilled")[0]).toEqual([first, "disk", "s3"]);
    // Promote it from S3, then push it out of memory again: disk and S3 both hold it.
    expectSameBlock(await store.get(first), firstBlock);
    await fill(store, 2, 4 * KiB);
    expect(movesOf(moves, "demoted").filter(([id]) => id === first)).toHaveLength(2);
    await flipLastByte(new DiskLayout(dir).blockPath(first));
    expectSameBlock(await store.get(first), firstBlock);
    expect(movesOf(moves, "corrupt")).toEqual([[first, "disk", "none"]]);
    expect(movesOf(moves, "promoted")).toEqual([[first, "s3", "memory"], [first, "s3", "memory"]]);
  });

  it("puts a block larger than memory and disk straight into S3", async () => {
    const { store, moves } = await openStore(8 * KiB, 16 * KiB);
    const id = newBlockId();
    const big = sampleBlock(40 * KiB, Buffer.from("big"));
    await store.put(id, big);
    expect(movesOf(moves, "spilled")).toEqual([[id, "memory", "s3"]]);
    expect(store.tierStats()).toMatchObject({ memory: { items: 0 }, disk: { items: 0 }, s3: { items: 1 } });
    expectSameBlock(await store.get(id), big);
  });
});
