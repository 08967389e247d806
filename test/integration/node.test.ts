import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId } from "../../src/block.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { encodeKey } from "../../src/keys.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { nodeCluster } from "../helpers/node-fixtures.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const MiB = 1024 * 1024;

describe("cache node process", () => {
  it("stores and serves blocks byte-identically over PeerClient (0 B to 4 MiB), deletes idempotently", async () => {
    const cluster = await nodeCluster();
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const payloads = [Buffer.alloc(0), randomBytes(1), randomBytes(100 * 1024), randomBytes(4 * MiB)];
    const ids = payloads.map(() => newBlockId());
    await Promise.all(payloads.map((data, i) => peer.put(ids[i]!, makeBlock(data, Buffer.from(`owner-${i}`)))));
    for (const [i, data] of payloads.entries()) {
      const got = await peer.get(ids[i]!);
      expect(got, `block ${i}`).toBeDefined();
      expect(Buffer.compare(got!.data, data)).toBe(0);
      expect(Buffer.from(got!.tag!).toString()).toBe(`owner-${i}`);
    }
    await peer.delete(ids[3]!);
    await peer.delete(ids[3]!);
    expect(await peer.get(ids[3]!)).toBeUndefined();
    const stats = await peer.stats();
    expect(stats.nodeId).toBe(node.nodeId);
    expect(stats.tiers["memory"]).toMatchObject({ items: 3, bytes: 100 * 1024 + 1 });
    expect(Object.keys(stats.tiers).sort()).toEqual(["disk", "memory", "s3"]);
  });

  it("rejects a PUT whose bytes do not match their checksum and stores nothing", async () => {
    const cluster = await nodeCluster();
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const good = makeBlock(randomBytes(1000));
    const id = newBlockId();
    const err = await peer.put(id, { ...good, checksum: (good.checksum ^ 0x1) >>> 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KvCacheError);
    expect((err as KvCacheError).code).toBe(ErrorCode.NODE);
    expect((err as KvCacheError).details["remoteCode"]).toBe(ErrorCode.CHECKSUM_MISMATCH);
    expect(await peer.get(id)).toBeUndefined();
    await peer.put(id, good);
    expect((await peer.get(id))?.checksum).toBe(good.checksum);
  });

  it("joins membership and leaves at once on SIGTERM (not by lease expiry)", async () => {
    const cluster = await nodeCluster({ etcd: { leaseTtlSeconds: 120 } });
    const node = await cluster.startNode();
    const live = await cluster.metadata.liveNodes();
    expect(live.map((n) => n.nodeId)).toEqual([node.nodeId]);
    expect(live[0]).toMatchObject({ address: node.address, adminAddress: new URL(node.adminUrl).host });
    const metrics = await (await fetch(`${node.adminUrl}/metrics`)).text();
    expect(metrics).toContain("kvcache_tier_capacity_bytes");
    const exit = await node.kill("SIGTERM");
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(await cluster.metadata.liveNodes()).toEqual([]);
    expect(node.outputTail()).toContain('"msg":"cache node closed"');
  });

  it("restarts warm: blocks left on disk GET again and their descriptors name the node again", async () => {
    const disk = await makeTempDir("datenlord-warm-");
    cleanupAfterTest(() => removeDir(disk));
    const cluster = await nodeCluster({ nodeId: "warm-node", memory: { capacityBytes: 256 * 1024 }, disk: { directory: disk } });
    const first = await cluster.startNode();
    const peer = cluster.client(first);
    const blocks = [];
    for (let i = 0; i < 12; i++) blocks.push(await cluster.insert(peer, `warm/${i}`, randomBytes(64 * 1024)));
    await peer.close();
    expect((await first.kill("SIGTERM")).code).toBe(0);

    // While it is down: a sweep dropped it as holder of one key, and another key was overwritten.
    const key = (k: string) => encodeKey(k, 1024);
    await cluster.metadata.update(cluster.namespace, key("warm/0"), (d) => d && { ...d, holders: [] , s3: true });
    const replaced = { blockId: newBlockId(), size: 1, checksum: 0, holders: ["other-node"], s3: false, createdAt: Date.now() };
    await cluster.metadata.put(cluster.namespace, key("warm/1"), replaced);

    const second = await cluster.startNode({ nodeId: "warm-node" });
    expect(second.nodeId).toBe("warm-node");
    const again = cluster.client(second);
    for (const b of blocks) {
      const got = await again.get(b.id);
      expect(got, b.key).toBeDefined();
      expect(Buffer.compare(got!.data, b.block.data)).toBe(0);
    }
    expect(await cluster.descriptor("warm/0")).toMatchObject({ blockId: blocks[0]!.id, holders: ["warm-node"] });
    expect(await cluster.descriptor("warm/1")).toEqual(replaced);
    for (const b of blocks.slice(2)) expect(await cluster.descriptor(b.key)).toMatchObject({ blockId: b.id, holders: ["warm-node"] });
  });

  it("reports readiness on /readyz and health on /healthz", async () => {
    const cluster = await nodeCluster();
    const node = await cluster.startNode();
    const ready = await fetch(`${node.adminUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, nodeId: node.nodeId, address: node.address });
    expect((await fetch(`${node.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${node.adminUrl}/nope`)).status).toBe(404);
    await waitFor(async () => (await cluster.metadata.liveNodes()).length === 1, { what: "the node in membership" });
  });
});
