import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvCacheClient } from "../../sdk/index.js";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../../src/config.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix } from "../helpers/s3-objects.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait-for.js";
import { scrapeGauge } from "./cluster-fixtures.js";
import { inParallel, insertInto, loadInto, SdkPool, Tally, testBlocks, type TestBlock } from "./fault-fixtures.js";

/**
 * S3 down while a node spills: the node reaches S3 only through a TCP proxy
 * that starts refusing connections (and cuts the open ones) while inserts
 * overflow memory (64 KiB) and disk (256 KiB). Spills are retried with backoff;
 * a block no tier could take is dropped and its descriptor removed, so metadata
 * never advertises a block that cannot be loaded. When S3 returns, spills
 * succeed again and every advertised block loads.
 */
const KiB = 1024;
const BLOCK = 16 * KiB;

let proxy: TcpProxy;
let config: ConfigOverrides;
let appConfig: AppConfig;
let node: NodeProcess;
let metadata: EtcdMetadataStore;
const sdks = new SdkPool();
let client: KvCacheClient;
const all: TestBlock[] = [];
/** Keys whose S3 copy was recorded before the outage: they must survive it. */
const inS3 = new Set<string>();

beforeAll(async () => {
  const s3 = new URL(testS3().endpoint);
  proxy = await startTcpProxy({ host: s3.hostname, port: Number(s3.port) });
  const base = testConfigOverrides({
    namespace: uniqueName("fault-s3"),
    memory: { capacityBytes: 64 * KiB },
    disk: { capacityBytes: 256 * KiB },
    cluster: { requestTimeoutMs: 30_000 },
  });
  config = { ...base, s3: { ...base.s3, endpoint: `http://${proxy.address}`, requestTimeoutMs: 2000 } };
  appConfig = loadConfig({ overrides: config, env: {} });
  node = await startNodeProcess({ configOverrides: config, startTimeoutMs: 60_000 });
  metadata = await EtcdMetadataStore.connect({ config: appConfig.etcd });
  client = await sdks.connectTo(1, config);
}, 120_000);

afterAll(async () => {
  await sdks.closeAll();
  await metadata?.close();
  await node?.stop();
  await proxy?.stop();
  const s3 = makeTestS3Client(testS3());
  await deletePrefix(s3, testS3().bucket, `${appConfig.s3.prefix}/`);
  s3.destroy();
}, 60_000);

/** Every key of the namespace metadata advertises now, with whether its S3 copy is recorded. */
async function advertised(): Promise<Map<string, boolean>> {
  const keys = new Map<string, boolean>();
  for await (const { namespace, entry } of metadata.entries()) {
    if (namespace === appConfig.namespace) keys.set(Buffer.from(entry.key.bytes).toString("utf8"), entry.descriptor.s3);
  }
  return keys;
}

/** Loads every advertised block: each must come back whole. */
async function expectAdvertisedLoadable(): Promise<{ advertised: number; tally: Tally }> {
  const keys = await advertised();
  const tally = new Tally();
  await inParallel(all.filter((b) => keys.has(b.key)), 8, (b) => loadInto(client, b, tally));
  expect(tally.summary()).toBe(`verified ${keys.size}, wrong 0, misses 0, failures {}`);
  return { advertised: keys.size, tally };
}

const metric = (name: string, labels: string): Promise<number> => scrapeGauge(node.adminUrl, name, labels).then((v) => v ?? 0);

describe("S3 down during spills", () => {
  it("before the outage: 30 blocks of 16 KiB overflow memory (64 KiB) and disk (256 KiB); the overflow is spilled to S3", async () => {
    const first = testBlocks("before", 30, () => BLOCK, 1);
    const tally = new Tally();
    await inParallel(first, 4, (b) => insertInto(client, b, tally));
    all.push(...first);
    expect(tally.failed).toBe(0);
    // Not loaded here: a load would promote S3 copies back into memory and blur what the outage drops.
    const keys = await waitFor(async () => {
      const now = await advertised();
      return [...now.values()].filter(Boolean).length >= 8 && now;
    }, { what: "spills to S3 recorded in metadata" });
    expect(keys.size).toBe(30);
    for (const [key, s3] of keys) if (s3) inS3.add(key);
  });

  it("during the outage: inserts succeed, spills are retried then dropped with their descriptors, local blocks load, nothing wrong", async () => {
    proxy.setMode({ kind: "refuse" });
    proxy.cut();
    const s3ErrorsBefore = await metric("kvcache_backend_errors_total", 'backend="s3",code="ERR_S3"') + await metric("kvcache_backend_errors_total", 'backend="s3",code="ERR_TIMEOUT"');
    // 16 new blocks push every block memory and disk held before out of the node.
    const outage = testBlocks("outage", 16, () => BLOCK, 2);
    const tally = new Tally();
    await inParallel(outage, 4, (b) => insertInto(client, b, tally));
    all.push(...outage);
    expect(tally.failed).toBe(0);
    const dropped = await waitFor(async () => {
      const n = await metric("kvcache_block_moves_total", 'from="disk",to="none",reason="dropped"');
      return n > 0 && n;
    }, { what: "a spill to be given up" });
    const s3Errors = await metric("kvcache_backend_errors_total", 'backend="s3",code="ERR_S3"') + await metric("kvcache_backend_errors_total", 'backend="s3",code="ERR_TIMEOUT"');
    // Each given-up spill was tried 4 times, with backoff (tiered store retry policy), before it was dropped.
    expect(s3Errors - s3ErrorsBefore).toBeGreaterThanOrEqual(4 * dropped);
    expect(proxy.stats.refused).toBeGreaterThan(0);
    // The newest blocks are local: they load. S3-only ones cannot while S3 is down: a typed miss, never wrong bytes.
    const recent = new Tally();
    await inParallel(outage.slice(-4), 4, (b) => loadInto(client, b, recent));
    expect(recent.summary()).toBe("verified 4, wrong 0, misses 0, failures {}");
    const s3Only = new Tally();
    await inParallel(all.filter((b) => inS3.has(b.key)).slice(0, 4), 4, (b) => loadInto(client, b, s3Only));
    expect(s3Only.wrong + s3Only.untyped).toBe(0);
  });

  it("after S3 returns: spills succeed again and every advertised block loads, none lost but those reported dropped", async () => {
    proxy.setMode({ kind: "pass" });
    const spilledBefore = await metric("kvcache_block_moves_total", 'from="disk",to="s3",reason="spilled"');
    const back = testBlocks("after", 24, () => BLOCK, 3);
    const tally = new Tally();
    await inParallel(back, 4, (b) => insertInto(client, b, tally));
    all.push(...back);
    expect(tally.failed).toBe(0);
    await waitFor(async () => (await metric("kvcache_block_moves_total", 'from="disk",to="s3",reason="spilled"')) > spilledBefore, { what: "spills to succeed again", timeoutMs: 30_000 });
    const dropped = await metric("kvcache_block_moves_total", 'from="disk",to="none",reason="dropped"');
    const { advertised: count } = await expectAdvertisedLoadable();
    // Only blocks reported dropped went missing, and none that had reached S3 before the outage.
    expect(count).toBeGreaterThanOrEqual(all.length - dropped);
    const now = await advertised();
    expect([...inS3].filter((k) => !now.has(k))).toEqual([]);
  });
});
