import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ErrorCode, KvCacheError, type ConfigOverrides } from "../../sdk/index.js";
import { testS3 } from "../helpers/env.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { flipObject, listKeys } from "../helpers/s3-objects.js";
import { nodeCluster, sdkClient, type NodeCluster } from "../helpers/node-fixtures.js";
import { waitFor } from "../helpers/wait-for.js";
import { scrape, valueOf } from "./metrics-fixtures.js";

const KiB = 1024;
const NO_SWEEP = { sweepIntervalMs: 3_600_000 };

async function client(cluster: NodeCluster, extra: ConfigOverrides = {}) {
  const { client: c, counter } = await sdkClient(cluster, extra);
  return {
    client: c,
    fallbacks: () => counter("kvcache_sdk_s3_fallbacks_total"),
    checksumFailures: (tier: string) => counter("kvcache_checksum_failures_total", { tier }),
  };
}

const nodeGets = async (adminUrl: string): Promise<number> => valueOf(await scrape(adminUrl), "kvcache_requests_total", { op: "node_get" });

describe("SDK reads", () => {
  it("reads a block no live node holds straight from S3 (where the node advertises it), into the caller's buffer too", async () => {
    // Memory holds nothing and there is no disk: every block goes straight to S3 during its PUT.
    const cluster = await nodeCluster({ memory: { capacityBytes: 1 }, cluster: NO_SWEEP });
    const node = await cluster.startNode({ disk: { directory: "" } });
    const direct = await client(cluster);
    const blocks = Array.from({ length: 4 }, (_, i) => ({ key: `cold/${i}`, data: randomBytes(100 * KiB + i) }));
    for (const b of blocks) await direct.client.insert(b.key, b.data);
    // The node's tracker names the S3 copy and drops itself once the SDK published each descriptor.
    await waitFor(async () => (await Promise.all(blocks.map((b) => cluster.descriptor(b.key)))).every((d) => d?.s3 === true && d.holders.length === 0), {
      what: "descriptors naming only the S3 copy",
    });
    const into = Buffer.alloc(128 * KiB);
    for (const b of blocks) {
      expect(Buffer.compare((await direct.client.tryLoad(`${b.key}/more`))!.data, b.data)).toBe(0);
      const hit = await direct.client.tryLoad(b.key, { into });
      expect(hit!.data.buffer).toBe(into.buffer);
      expect(Buffer.compare(hit!.data, b.data)).toBe(0);
    }
    expect(await direct.fallbacks()).toBe(8);
    expect(await nodeGets(node.adminUrl)).toBe(0);

    // Without direct reads (or without S3 settings) the node reads its S3 tier for the client.
    const viaNode = await client(cluster, { sdk: { directS3Reads: false } });
    for (const b of blocks) expect(Buffer.compare((await viaNode.client.tryLoad(b.key))!.data, b.data)).toBe(0);
    expect(await nodeGets(node.adminUrl)).toBe(4);
    expect(await viaNode.fallbacks()).toBe(4);

    // A damaged object read directly is counted and never returned: a miss.
    const s3 = makeTestS3Client(testS3());
    const [object] = await listKeys(s3, cluster.config.s3.bucket, `${cluster.config.s3.prefix}/`);
    await flipObject(s3, cluster.config.s3.bucket, object!);
    s3.destroy();
    const lenient = await client(cluster, { sdk: { strict: false } });
    const loads = await Promise.all(blocks.map((b) => lenient.client.tryLoad(b.key)));
    expect(loads.filter((hit) => hit === null)).toHaveLength(1);
    for (const [i, hit] of loads.entries()) if (hit !== null) expect(Buffer.compare(hit.data, blocks[i]!.data)).toBe(0);
    expect(await lenient.checksumFailures("s3")).toBe(1);
  });

  it("loads hot blocks from a node into one reused buffer; a buffer too small is the caller's error, also when not strict", async () => {
    const cluster = await nodeCluster({ cluster: NO_SWEEP });
    await cluster.startNode();
    const { client: c } = await client(cluster);
    const blocks = Array.from({ length: 3 }, (_, i) => ({ key: `hot/${i}`, data: randomBytes(256 * KiB - i) }));
    for (const b of blocks) await c.insert(b.key, b.data);
    const into = Buffer.alloc(256 * KiB);
    for (let round = 0; round < 2; round++) {
      for (const b of blocks) {
        const hit = await c.tryLoad(`${b.key}/x`, { into });
        expect(hit!.matchedPrefix).toBe(b.key);
        expect(hit!.data.buffer).toBe(into.buffer);
        expect(Buffer.compare(hit!.data, b.data)).toBe(0);
      }
    }
    const { client: lenient } = await client(cluster, { sdk: { strict: false } });
    const err = await lenient.tryLoad("hot/0", { into: Buffer.alloc(KiB) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(KvCacheError);
    expect((err as KvCacheError).code).toBe(ErrorCode.BUFFER_TOO_SMALL);
    expect(await lenient.tryLoad("nothing/here", { into })).toBeNull();
  });
});
