import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvCacheClient } from "../../sdk/index.js";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { freePort } from "../helpers/ports.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix } from "../helpers/s3-objects.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";
import { inParallel, insertInto, loadInto, SdkPool, Tally, testBlocks, type TestBlock } from "./fault-fixtures.js";

/**
 * A partition between the SDK and one node: node-0 is reached only through a
 * TCP proxy (its advertised address), which is switched to blackhole — the
 * node stays alive and registered, its sockets stay open, nothing gets
 * through. Reads of blocks it holds must move to another holder, or to the S3
 * copy through another node, within the request timeout.
 */
const KiB = 1024;
const REQUEST_TIMEOUT_MS = 1500;

let proxy: TcpProxy;
let config: ConfigOverrides;
let appConfig: AppConfig;
const nodes: NodeProcess[] = [];
const sdks = new SdkPool();
let twoCopies: KvCacheClient;
let oneCopy: KvCacheClient;
let metadata: EtcdMetadataStore;

beforeAll(async () => {
  proxy = await startTcpProxy();
  config = testConfigOverrides({
    namespace: uniqueName("fault-partition"),
    etcd: { leaseTtlSeconds: 5 },
    cluster: { writeThrough: true, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  });
  appConfig = loadConfig({ overrides: config, env: {} });
  const port = await freePort();
  // A partition cuts a client off a node on another host: the clients here reach the nodes over TCP
  // only, as such a client does (a same-host client would read the node's shared memory file).
  const remote = { ...config, sdk: { sharedMemory: false } };
  proxy.setTarget({ host: "127.0.0.1", port });
  const behindProxy = { ...config, nodeId: "part-0", node: { port, advertiseAddress: proxy.address } };
  nodes.push(...(await Promise.all([behindProxy, { ...config, nodeId: "part-1" }, { ...config, nodeId: "part-2" }]
    .map((c) => startNodeProcess({ configOverrides: c, startTimeoutMs: 60_000 })))));
  [twoCopies, oneCopy] = await Promise.all([sdks.connect(remote, { cluster: { ...config.cluster, replicas: 2 } }), sdks.connect(remote)]);
  await waitFor(async () => (await twoCopies.nodes()).length === 3 && (await oneCopy.nodes()).length === 3, { what: "3 live nodes", timeoutMs: 30_000 });
  metadata = await EtcdMetadataStore.connect({ config: appConfig.etcd });
}, 120_000);

afterAll(async () => {
  await sdks.closeAll();
  await metadata?.close();
  await Promise.all(nodes.map((n) => n.stop()));
  await proxy?.stop();
  const s3 = makeTestS3Client(testS3());
  await deletePrefix(s3, testS3().bucket, `${appConfig.s3.prefix}/`);
  s3.destroy();
}, 60_000);

async function holdersOf(b: TestBlock): Promise<{ holders: readonly string[]; s3: boolean }> {
  const entry = await metadata.get(appConfig.namespace, encodeKey(b.key, appConfig.limits.maxKeyBytes));
  if (entry === undefined) throw new Error(`no descriptor for ${b.key}`);
  return entry.descriptor;
}

/** Loads each block, timing every load; returns the slowest. */
async function timedLoads(client: KvCacheClient, blocks: readonly TestBlock[], tally: Tally): Promise<number> {
  let slowest = 0;
  await inParallel(blocks, 8, async (b) => {
    const started = Date.now();
    await loadInto(client, b, tally);
    slowest = Math.max(slowest, Date.now() - started);
  });
  return slowest;
}

describe("partition between the SDK and one node (TCP proxy blackhole)", () => {
  const replicated = testBlocks("two-copies", 60, (i) => 4 * KiB + 101 * i, 1);
  const single = testBlocks("one-copy", 60, (i) => 4 * KiB + 103 * i, 2);

  it(`reads of blocks the partitioned node holds move to the other holder or to S3, each within ${REQUEST_TIMEOUT_MS} ms plus slack; 0 wrong bytes`, async () => {
    const setup = new Tally();
    await inParallel(replicated, 8, (b) => insertInto(twoCopies, b, setup));
    await inParallel(single, 8, (b) => insertInto(oneCopy, b, setup));
    expect(setup.failed).toBe(0);
    // Blocks whose only node copy is behind the proxy must have their S3 copy recorded first.
    // Each read of these waits out one request timeout on the partitioned node first: 16 of each kind suffice.
    const affectedTwo = (await Promise.all(replicated.map(async (b) => ((await holdersOf(b)).holders.includes("part-0") ? [b] : [])))).flat().slice(0, 16);
    const affectedOne = (await Promise.all(single.map(async (b) => ((await holdersOf(b)).holders.includes("part-0") ? [b] : [])))).flat().slice(0, 16);
    expect(affectedTwo.length).toBeGreaterThan(5);
    expect(affectedOne.length).toBeGreaterThan(5);
    await waitFor(async () => (await Promise.all(affectedOne.map(holdersOf))).every((d) => d.s3), { what: "write-through to mark the S3 copies", timeoutMs: 30_000 });

    proxy.setMode({ kind: "blackhole" });
    const during = new Tally();
    const slowestTwo = await timedLoads(twoCopies, affectedTwo, during);
    const slowestOne = await timedLoads(oneCopy, affectedOne, during);
    expect(during.summary()).toBe(`verified ${affectedTwo.length + affectedOne.length}, wrong 0, misses 0, failures {}`);
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    expect(Math.max(slowestTwo, slowestOne)).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS + 2500);

    const inserts = new Tally();
    const more = testBlocks("during-partition", 16, () => 2 * KiB, 3);
    await inParallel(more, 8, (b) => insertInto(twoCopies, b, inserts));
    await inParallel(more, 8, (b) => loadInto(twoCopies, b, inserts));
    expect(inserts.summary()).toBe("verified 16, wrong 0, misses 0, failures {}");
  });

  it("after the partition heals, the node serves again: all 136 blocks load byte-identical", async () => {
    proxy.setMode({ kind: "pass" });
    const healed = new Tally();
    await inParallel([...replicated, ...single], 8, (b) => loadInto(twoCopies, b, healed));
    await inParallel(testBlocks("during-partition", 16, () => 2 * KiB, 3), 8, (b) => loadInto(twoCopies, b, healed));
    expect(healed.summary()).toBe("verified 136, wrong 0, misses 0, failures {}");
    expect(proxy.stats.accepted).toBeGreaterThan(0);
  });
});
