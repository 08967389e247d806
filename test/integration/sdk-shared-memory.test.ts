import { randomBytes } from "node:crypto";
import { existsSync, promises as fsp, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ConfigOverrides } from "../../sdk/index.js";
import { directoryHugePages } from "../../src/huge-pages.js";
import { sharedBlocksOffset, sharedHeaderSlots } from "../../src/shared-memory-file.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { requireNativeFastPath } from "../helpers/native-fast-path.js";
import { nodeCluster, sdkClient, type NodeCluster } from "../helpers/node-fixtures.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { scrape, valueOf } from "./metrics-fixtures.js";

const KiB = 1024;
const NO_SWEEP = { sweepIntervalMs: 3_600_000 };

/** A directory of its own for the nodes' shared files, on tmpfs when there is one. */
async function sharedDirectory(): Promise<string> {
  const dir = existsSync("/dev/shm") ? await fsp.mkdtemp("/dev/shm/datenlord-test-") : await makeTempDir();
  cleanupAfterTest(() => removeDir(dir));
  return dir;
}

async function client(cluster: NodeCluster, extra: ConfigOverrides = {}) {
  const { client: c, counter } = await sdkClient(cluster, extra);
  return {
    client: c,
    sharedHits: () => counter("kvcache_tier_hits_total", { tier: "shared" }),
    sharedMisses: () => counter("kvcache_tier_misses_total", { tier: "shared" }),
    checksumFailures: () => counter("kvcache_checksum_failures_total", { tier: "shared" }),
    readAheads: async () => ({ used: await counter("kvcache_sdk_read_aheads_total", { result: "used" }), wasted: await counter("kvcache_sdk_read_aheads_total", { result: "wasted" }) }),
  };
}

/** The node's "memory tier" log line (one JSON object per line), as fields. */
function memoryTierLine(output: string): Record<string, unknown> {
  const line = output.split("\n").find((l) => l.includes('"msg":"memory tier"'));
  if (line === undefined) throw new Error(`no "memory tier" line in the node's output:\n${output}`);
  return JSON.parse(line) as Record<string, unknown>;
}

const nodeOps = async (adminUrl: string, op: string): Promise<number> => valueOf(await scrape(adminUrl), "kvcache_requests_total", { op });
const nodeMemoryHits = async (adminUrl: string): Promise<number> => valueOf(await scrape(adminUrl), "kvcache_tier_hits_total", { tier: "memory" });

/** Where a node's shared file keeps its blocks (after the header and the directory). */
async function blockRegionOf(path: string): Promise<number> {
  const header = Buffer.alloc(64);
  const file = await fsp.open(path, "r");
  await file.read(header, 0, 64, 0);
  await file.close();
  return sharedBlocksOffset(sharedHeaderSlots(header));
}

describe("SDK through a node's shared memory file", () => {
  it("reads hot blocks in the node's file through its directory, into the caller's buffer too; over TCP when turned off", async () => {
    const directory = await sharedDirectory();
    const cluster = await nodeCluster({ memory: { capacityBytes: 4 * 1024 * KiB, sharedDirectory: directory }, cluster: NO_SWEEP });
    const node = await cluster.startNode();
    const [info] = await cluster.metadata.liveNodes();
    expect(info!.sharedMemory!.path.startsWith(`${directory}/`)).toBe(true);
    expect((await fsp.stat(info!.sharedMemory!.path)).mode & 0o777).toBe(0o600);
    const logged = memoryTierLine(node.outputTail());
    expect(logged).toMatchObject({ shared: true, file: info!.sharedMemory!.path, hugePages: await directoryHugePages(directory) });
    expect(logged.hugePages).not.toBe("unknown");

    const shared = await client(cluster);
    const blocks = Array.from({ length: 4 }, (_, i) => ({ key: `hot/${i}`, data: randomBytes(300 * KiB + i) }));
    for (const b of blocks) await shared.client.insert(b.key, b.data);
    const into = Buffer.alloc(512 * KiB);
    for (const b of blocks) {
      expect(Buffer.compare((await shared.client.tryLoad(`${b.key}/more`))!.data, b.data)).toBe(0);
      const hit = await shared.client.tryLoad(b.key, { into });
      expect(hit!.data.buffer).toBe(into.buffer);
      expect(Buffer.compare(hit!.data, b.data)).toBe(0);
    }
    expect(await shared.sharedHits()).toBe(8);
    // Read through a mapping of the node's file (this process is the SDK's).
    requireNativeFastPath();
    expect(readFileSync("/proc/self/maps", "utf8")).toContain(info!.sharedMemory!.path);
    // Found through the file's directory: no LOCATE, no GET. The node hears of the reads in a TOUCH.
    expect(await nodeOps(node.adminUrl, "node_locate")).toBe(0);
    expect(await nodeOps(node.adminUrl, "node_get")).toBe(0);
    await waitFor(async () => (await nodeMemoryHits(node.adminUrl)) === 8, { what: "the node counting the 8 reads it was told of" });
    expect(await nodeOps(node.adminUrl, "node_touch")).toBeGreaterThanOrEqual(1);
    // The inserts wrote their bytes into the file too: RESERVE + COMMIT, no PUT.
    expect(await nodeOps(node.adminUrl, "node_reserve")).toBe(4);
    expect(await nodeOps(node.adminUrl, "node_commit")).toBe(4);
    expect(await nodeOps(node.adminUrl, "node_put")).toBe(0);

    const tcp = await client(cluster, { sdk: { sharedMemory: false } });
    for (const b of blocks) expect(Buffer.compare((await tcp.client.tryLoad(b.key))!.data, b.data)).toBe(0);
    expect(await tcp.sharedHits()).toBe(0);
    expect(await nodeOps(node.adminUrl, "node_get")).toBe(4);
    await tcp.client.insert("tcp/0", randomBytes(1000));
    expect(await nodeOps(node.adminUrl, "node_put")).toBe(1);

    await node.stop();
    expect(existsSync(info!.sharedMemory!.path)).toBe(false);
  });

  it("loads stay exact while another client's inserts make the node evict and rewrite its memory under the reads", async () => {
    const directory = await sharedDirectory();
    const size = 256 * KiB;
    const resident = 8;
    // Memory holds 8 blocks: every insert evicts the oldest to disk and writes the new one over its place.
    const cluster = await nodeCluster({ memory: { capacityBytes: resident * size, sharedDirectory: directory }, cluster: NO_SWEEP });
    const node = await cluster.startNode();
    // The writer PUTs over TCP, so the node writes the bytes itself, in its own process, while the reader reads the file.
    const writer = await client(cluster, { sdk: { sharedMemory: false } });
    const reader = await client(cluster);
    const blocks: Buffer[] = [];
    let writing = true;
    const write = async (): Promise<void> => {
      for (let i = 0; i < 150; i++) {
        const data = randomBytes(size);
        await writer.client.insert(`race/${i}`, data);
        blocks.push(data);
      }
      writing = false;
    };
    let wrong = 0;
    let loads = 0;
    const read = async (worker: number): Promise<void> => {
      const into = Buffer.alloc(size);
      for (let n = worker; writing; n++) {
        // Every block in memory alike: one of them is the next to be evicted and have its place rewritten.
        const i = Math.max(0, blocks.length - 1 - (n % resident));
        if (blocks.length === 0) {
          await reader.client.matchPrefix("race/"); // nothing stored yet: yield to the writer
          continue;
        }
        const hit = await reader.client.tryLoad(`race/${i}`, { into });
        loads++;
        if (hit === null || Buffer.compare(hit.data, blocks[i]!) !== 0) wrong++;
      }
    };
    await Promise.all([write(), read(0), read(1), read(2)]);
    expect(wrong).toBe(0);
    expect(loads).toBeGreaterThan(150);
    expect(await reader.sharedHits()).toBeGreaterThan(50);
    expect(valueOf(await scrape(node.adminUrl), "kvcache_block_moves_total", { from: "memory", to: "disk", reason: "demoted" })).toBeGreaterThan(120);
  });

  it("copies a block loaded before while etcd answers, and never returns it once another client has overwritten its key", async () => {
    const directory = await sharedDirectory();
    const cluster = await nodeCluster({ memory: { capacityBytes: 8 * 1024 * KiB, sharedDirectory: directory }, cluster: NO_SWEEP });
    await cluster.startNode();
    const writer = await client(cluster);
    const reader = await client(cluster);
    const blocks = Array.from({ length: 4 }, (_, i) => ({ key: `ahead/${i}`, data: randomBytes(100 * KiB + i) }));
    for (const b of blocks) await writer.client.insert(b.key, b.data);
    const into = Buffer.alloc(128 * KiB);
    for (let round = 0; round < 3; round++) {
      for (const b of blocks) {
        const hit = await reader.client.tryLoad(round === 2 ? `${b.key}/more` : b.key, { into });
        expect(hit!.data.buffer).toBe(into.buffer);
        expect(Buffer.compare(hit!.data, b.data)).toBe(0);
      }
    }
    // The first round had nothing to go on; the next two read every block ahead, and each copy was the answer's.
    expect(await reader.readAheads()).toEqual({ used: 8, wasted: 0 });

    // Each overwrite gives the key a new block; the reader's hint still names the old one, which may still be in the file.
    let data = blocks[0]!.data;
    for (let i = 0; i < 20; i++) {
      data = randomBytes(100 * KiB);
      await writer.client.insert(blocks[0]!.key, data, { overwrite: true });
      expect(Buffer.compare((await reader.client.tryLoad(blocks[0]!.key, { into }))!.data, data)).toBe(0);
    }
    const { used, wasted } = await reader.readAheads();
    expect(used + wasted).toBeGreaterThanOrEqual(8);
    expect(used).toBe(8);
  });

  it("falls back to the node's GET for blocks its memory tier no longer holds, and for bytes damaged in the file", async () => {
    const directory = await sharedDirectory();
    // Memory holds one 600 KiB block: the others are demoted to disk as they come.
    const cluster = await nodeCluster({ memory: { capacityBytes: 700 * KiB, sharedDirectory: directory }, cluster: NO_SWEEP });
    const node = await cluster.startNode();
    const [info] = await cluster.metadata.liveNodes();
    const c = await client(cluster);
    const blocks = Array.from({ length: 3 }, (_, i) => ({ key: `k/${i}`, data: randomBytes(600 * KiB) }));
    for (const b of blocks) await c.client.insert(b.key, b.data);
    // k/0 is on disk: not listed, LOCATE misses, the GET reads the disk tier (and promotes it).
    expect(Buffer.compare((await c.client.tryLoad("k/0"))!.data, blocks[0]!.data)).toBe(0);
    expect(await c.sharedMisses()).toBe(1);
    expect(await nodeOps(node.adminUrl, "node_get")).toBe(1);

    // Damage every byte of the block region: the SDK's check catches it, and the node's GET
    // drops the bad copy and serves the one it kept on disk when it promoted the block.
    const region = await blockRegionOf(info!.sharedMemory!.path);
    const file = await fsp.open(info!.sharedMemory!.path, "r+");
    await file.write(Buffer.alloc(700 * KiB, 0x5a), 0, 700 * KiB, region);
    await file.close();
    expect(Buffer.compare((await c.client.tryLoad("k/0"))!.data, blocks[0]!.data)).toBe(0);
    expect(await c.checksumFailures()).toBe(1);
    await waitFor(async () => valueOf(await scrape(node.adminUrl), "kvcache_checksum_failures_total", { tier: "memory" }) === 1, { what: "the node counting its bad copy" });
  });

  it("removes the file of a node that was killed when the next node starts", async () => {
    const directory = await sharedDirectory();
    const cluster = await nodeCluster({ memory: { capacityBytes: 1024 * KiB, sharedDirectory: directory }, cluster: NO_SWEEP });
    const first = await cluster.startNode();
    const [info] = await cluster.metadata.liveNodes();
    await first.kill("SIGKILL");
    expect(existsSync(info!.sharedMemory!.path)).toBe(true);
    await cluster.startNode();
    expect(existsSync(info!.sharedMemory!.path)).toBe(false);
    expect((await fsp.readdir(directory)).length).toBe(1);
  });

  it("PUTs to a node that does not take writes through its file (write-through on), and stops asking it", async () => {
    const directory = await sharedDirectory();
    const cluster = await nodeCluster({ memory: { capacityBytes: 1024 * KiB, sharedDirectory: directory }, cluster: { ...NO_SWEEP, writeThrough: true } });
    const node = await cluster.startNode();
    const c = await client(cluster);
    const blocks = Array.from({ length: 3 }, (_, i) => ({ key: `wt/${i}`, data: randomBytes(100 * KiB) }));
    for (const b of blocks) await c.client.insert(b.key, b.data);
    expect(await nodeOps(node.adminUrl, "node_put")).toBe(3);
    expect(valueOf(await scrape(node.adminUrl), "kvcache_requests_total", { op: "node_reserve", result: "error" })).toBe(1);
    for (const b of blocks) expect(Buffer.compare((await c.client.tryLoad(b.key))!.data, b.data)).toBe(0);
    expect(await c.sharedHits()).toBe(3);
  });

  it("releases every lease it took: the node can reuse the space", async () => {
    const directory = await sharedDirectory();
    const cluster = await nodeCluster({ memory: { capacityBytes: 6 * 1024 * KiB, sharedDirectory: directory }, disk: { directory: "" }, cluster: NO_SWEEP });
    const node = await cluster.startNode();
    const c = await client(cluster);
    // Blocks over 4 MiB are read off the loop thread, so through LOCATE and a lease rather than the
    // directory. Each insert evicts the block before it; each load leases the block in place.
    // Unreleased leases would hold every evicted block's space for seconds and stall the inserts.
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      const data = randomBytes(4 * 1024 * KiB + 1);
      await c.client.insert(`r/${i}`, data);
      expect(Buffer.compare((await c.client.tryLoad(`r/${i}`))!.data, data)).toBe(0);
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await c.sharedHits()).toBe(20);
    expect(await nodeOps(node.adminUrl, "node_locate")).toBe(20);
  });
});
