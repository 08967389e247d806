import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { S3Tier } from "../../storage/s3-tier.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { nodeCluster, type InsertedBlock } from "../helpers/node-fixtures.js";
import { waitFor } from "../helpers/wait-for.js";

const KiB = 1024;

describe("cache node tiers and metadata", () => {
  it("spills past memory and disk to S3: descriptors get s3=true and lose the holder, and every block still loads", async () => {
    const cluster = await nodeCluster({ memory: { capacityBytes: 64 * KiB }, disk: { capacityBytes: 128 * KiB } });
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const blocks: InsertedBlock[] = [];
    for (let i = 0; i < 12; i++) blocks.push(await cluster.insert(peer, `spill/${i}`, randomBytes(32 * KiB)));

    // 384 KiB into 192 KiB of local tiers: at least 6 blocks must be in S3 only.
    const spilled = await waitFor(async () => {
      const descriptors = await Promise.all(blocks.map((b) => cluster.descriptor(b.key)));
      const inS3Only = descriptors.filter((d) => d?.s3 === true && d.holders.length === 0);
      return inS3Only.length >= 6 && descriptors;
    }, { what: "spilled descriptors marked s3 without a holder" });
    for (const [i, d] of spilled.entries()) {
      expect(d, blocks[i]!.key).toBeDefined();
      // Never advertised nowhere: either this node holds it, or S3 does (invariant 4).
      expect(d!.s3 || d!.holders.includes(node.nodeId), blocks[i]!.key).toBe(true);
    }
    const s3 = new S3Tier({ config: cluster.config.s3, namespace: cluster.namespace });
    cleanupAfterTest(() => s3.close());
    for (const [i, d] of spilled.entries()) if (d!.s3) expect(await s3.has(blocks[i]!.id), blocks[i]!.key).toBe(true);

    for (const b of blocks) {
      const got = await peer.get(b.id);
      expect(got, b.key).toBeDefined();
      expect(Buffer.compare(got!.data, b.block.data)).toBe(0);
    }
  });

  it("promotes a block loaded from S3 and names the node as holder again", async () => {
    const cluster = await nodeCluster({ memory: { capacityBytes: 64 * KiB }, disk: { directory: "" } });
    const node = await cluster.startNode({ disk: { directory: "" } });
    const peer = cluster.client(node);
    const first = await cluster.insert(peer, "promote/0", randomBytes(40 * KiB));
    await cluster.insert(peer, "promote/1", randomBytes(40 * KiB));
    await waitFor(async () => (await cluster.descriptor(first.key))?.holders.length === 0, { what: "promote/0 spilled" });
    expect(await cluster.descriptor(first.key)).toMatchObject({ s3: true, holders: [] });
    const got = await peer.get(first.id);
    expect(Buffer.compare(got!.data, first.block.data)).toBe(0);
    await waitFor(async () => (await cluster.descriptor(first.key))?.holders.includes(node.nodeId), { what: "promote/0 held again" });
    expect(await cluster.descriptor(first.key)).toMatchObject({ s3: true, holders: [node.nodeId] });
  });

  it("with writeThrough, uploads each new block to S3 and marks its descriptor", async () => {
    const cluster = await nodeCluster({ cluster: { writeThrough: true } });
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const blocks = await Promise.all([0, 1, 2].map((i) => cluster.insert(peer, `wt/${i}`, randomBytes(10 * KiB))));
    for (const b of blocks) {
      await waitFor(async () => (await cluster.descriptor(b.key))?.s3, { what: `${b.key} marked s3` });
      expect(await cluster.descriptor(b.key)).toMatchObject({ blockId: b.id, s3: true, holders: [node.nodeId] });
    }
    const s3 = new S3Tier({ config: cluster.config.s3, namespace: cluster.namespace });
    cleanupAfterTest(() => s3.close());
    for (const b of blocks) expect(Buffer.compare((await s3.get(b.id))!.data, b.block.data)).toBe(0);
  });
});
