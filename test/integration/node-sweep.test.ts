import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId } from "../../src/block.js";
import { loadConfig } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { CacheNode } from "../../src/node/cache-node.js";
import { silentLogger } from "../../src/node/logger.js";
import { S3Tier } from "../../storage/s3-tier.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { nodeCluster } from "../helpers/node-fixtures.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const GRACE_MS = 500;

describe("cache node sweep", () => {
  it("after a node dies, another node's sweep drops it as holder, deletes entries with no copy left, and deletes orphan S3 objects", async () => {
    const cluster = await nodeCluster({ etcd: { leaseTtlSeconds: 3 }, cluster: { sweepGraceMs: GRACE_MS, sweepIntervalMs: 3_600_000 } });
    const a = await cluster.startNode({ nodeId: "node-a" });
    const diskB = await makeTempDir("datenlord-sweep-b-");
    cleanupAfterTest(() => removeDir(diskB));
    const config = loadConfig({ overrides: { ...cluster.overrides, nodeId: "node-b", node: { port: 0, adminPort: 0 }, disk: { directory: diskB } }, env: {} });
    const b = await CacheNode.start({ config, logger: silentLogger });
    cleanupAfterTest(() => b.close());
    const [peerA, peerB] = [cluster.client(a), cluster.client(b)];

    const onlyA = await Promise.all([0, 1, 2].map((i) => cluster.insert(peerA, `sweep/a${i}`, randomBytes(2048))));
    const shared = await cluster.insert(peerA, "sweep/shared", randomBytes(2048), ["node-a", "node-b"]);
    await peerB.put(shared.id, shared.block);
    const inS3 = await cluster.insert(peerA, "sweep/s3", randomBytes(2048));
    const s3 = new S3Tier({ config: cluster.config.s3, namespace: cluster.namespace });
    cleanupAfterTest(() => s3.close());
    await s3.put(inS3.id, inS3.block);
    await cluster.metadata.update(cluster.namespace, encodeKey("sweep/s3", 1024), (d) => d && { ...d, s3: true });
    const orphan = newBlockId();
    await s3.put(orphan, makeBlock(randomBytes(100)));

    await a.kill("SIGKILL");
    // node-a's lease outlives it for a few seconds: a sweep now must change nothing.
    const early = await b.sweepOnce();
    expect(early).toMatchObject({ holdersRemoved: 0, entriesDeleted: 0, objectsDeleted: 0 });
    expect(await cluster.descriptor("sweep/a0")).toBeDefined();

    await waitFor(async () => {
      await b.sweepOnce();
      const left = await Promise.all(onlyA.map((x) => cluster.descriptor(x.key)));
      return left.every((d) => d === undefined) && !(await s3.has(orphan));
    }, { what: "node-a's entries and the orphan object swept", timeoutMs: 30_000, intervalMs: 200 });

    expect(await cluster.descriptor("sweep/shared")).toMatchObject({ blockId: shared.id, holders: ["node-b"], s3: false });
    expect(await cluster.descriptor("sweep/s3")).toMatchObject({ blockId: inS3.id, holders: [], s3: true });
    expect(await s3.has(inS3.id)).toBe(true);
    expect(Buffer.compare((await peerB.get(shared.id))!.data, shared.block.data)).toBe(0);
    expect(Buffer.compare((await peerB.get(inS3.id))!.data, inS3.block.data)).toBe(0);
  });
});
