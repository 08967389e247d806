import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KvCacheClient } from "../../sdk/index.js";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../../src/config.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import type { NodeProcess } from "../helpers/node-process.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix } from "../helpers/s3-objects.js";
import { waitFor } from "../helpers/wait-for.js";
import { prng, startNodes } from "./cluster-fixtures.js";
import { inParallel, insertInto, loadInto, SdkPool, Tally, type TestBlock } from "./fault-fixtures.js";

/**
 * Soak: several clients insert and load concurrently against 3 node processes
 * whose memory (1 MiB) and disk (4 MiB) tiers are far smaller than what is
 * written, so blocks keep moving memory → disk → S3. Bounded to SOAK_SECONDS
 * (default 30) of load; set SOAK_SECONDS=600 for a long run.
 */
const SECONDS = Number(process.env["SOAK_SECONDS"] ?? 30);
const CLIENTS = 4;
const KiB = 1024;
const MiB = 1024 * KiB;
const MEMORY_BYTES = 1 * MiB;
/**
 * RSS bound: a node may grow by at most this over its RSS once started. Its
 * memory tier (1 MiB), blocks in transit between tiers, socket buffers of 8
 * connections per client and V8's heap headroom all fit in it; a leak of the
 * blocks written (tens of MiB per node) would not.
 */
const RSS_GROWTH_BOUND = MEMORY_BYTES + 96 * MiB;

let config: ConfigOverrides;
let appConfig: AppConfig;
let nodes: NodeProcess[] = [];
const sdks = new SdkPool();
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

async function rssOf(node: NodeProcess): Promise<number> {
  const page = await (await fetch(`${node.adminUrl}/metrics`)).text();
  const line = page.split("\n").find((l) => l.startsWith("kvcache_process_resident_memory_bytes "));
  return Number(line?.split(" ")[1] ?? NaN);
}

beforeAll(async () => {
  process.on("unhandledRejection", onUnhandled);
  config = testConfigOverrides({
    namespace: uniqueName("soak"),
    memory: { capacityBytes: MEMORY_BYTES },
    disk: { capacityBytes: 4 * MiB },
    etcd: { leaseTtlSeconds: 5 },
    cluster: { replicas: 2, requestTimeoutMs: 15_000 },
  });
  appConfig = loadConfig({ overrides: config, env: {} });
  nodes = await startNodes(3, config);
}, 120_000);

afterAll(async () => {
  process.removeListener("unhandledRejection", onUnhandled);
  await sdks.closeAll();
  await Promise.all(nodes.map((n) => n.stop()));
  const s3 = makeTestS3Client(testS3());
  await deletePrefix(s3, testS3().bucket, `${appConfig.s3.prefix}/`);
  s3.destroy();
}, 120_000);

/** One client's loop until `until`: 40% inserts of new 8–64 KiB blocks, 60% loads of any client's blocks. */
async function clientLoop(client: KvCacheClient, id: number, until: number, stored: TestBlock[], tally: Tally): Promise<number> {
  const next = prng(1000 + id);
  let inserted = 0;
  while (Date.now() < until) {
    if (stored.length < 8 || next() < 0.4) {
      const b: TestBlock = { key: `c${id}/${String(inserted++).padStart(7, "0")}`, seed: id * 10_000_019 + inserted, size: 8 * KiB + Math.floor(next() * 56 * KiB) };
      if (await insertInto(client, b, tally)) stored.push(b);
    } else {
      const b = stored[Math.floor(next() * stored.length)]!;
      await loadInto(client, b, tally, next() < 0.5 ? b.key : `${b.key}/deeper`);
    }
  }
  return inserted;
}

describe(`soak: ${CLIENTS} clients × ${SECONDS} s against 3 nodes under memory pressure`, () => {
  it("0 wrong bytes, 0 unhandled rejections, node RSS growth within the bound, every descriptor loadable at the end", async () => {
    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => sdks.connect(config)));
    await waitFor(async () => (await Promise.all(clients.map((c) => c.nodes()))).every((n) => n.length === 3), { what: "3 nodes in every client" });
    const baseline = await Promise.all(nodes.map(rssOf));
    const peak = [...baseline];
    const sampler = setInterval(() => {
      void Promise.all(nodes.map(rssOf)).then((now) => now.forEach((v, i) => (peak[i] = Math.max(peak[i]!, v))), () => undefined);
    }, 1000);
    const stored: TestBlock[] = [];
    const tally = new Tally();
    const until = Date.now() + SECONDS * 1000;
    let inserted: number[];
    try {
      inserted = await Promise.all(clients.map((c, i) => clientLoop(c, i, until, stored, tally)));
    } finally {
      clearInterval(sampler);
    }
    const final = await Promise.all(nodes.map(rssOf));
    final.forEach((v, i) => (peak[i] = Math.max(peak[i]!, v)));

    const written = stored.reduce((sum, b) => sum + b.size, 0);
    expect(written).toBeGreaterThan(3 * (MEMORY_BYTES + 4 * MiB));
    expect(tally.wrong).toBe(0);
    expect(tally.untyped).toBe(0);
    expect(tally.failed, tally.summary()).toBe(0);
    expect(unhandled).toEqual([]);
    peak.forEach((p, i) => expect(p - baseline[i]!, `node ${i}: ${baseline[i]} → ${p} bytes RSS`).toBeLessThanOrEqual(RSS_GROWTH_BOUND));
    for (const n of nodes) expect(await Promise.race([n.waitExit(), Promise.resolve("running")])).toBe("running");

    // Every block acknowledged is loadable, and every descriptor metadata holds points at a loadable block.
    const end = new Tally();
    await inParallel(stored, 16, (b) => loadInto(clients[0]!, b, end));
    expect(end.summary()).toBe(`verified ${stored.length}, wrong 0, misses 0, failures {}`);
    const metadata = await EtcdMetadataStore.connect({ config: appConfig.etcd });
    let descriptors = 0;
    try {
      for await (const { namespace } of metadata.entries()) if (namespace === appConfig.namespace) descriptors++;
    } finally {
      await metadata.close();
    }
    expect(descriptors).toBe(stored.length);
    console.log(`soak: ${inserted.reduce((a, b) => a + b, 0)} inserts (${(written / MiB).toFixed(1)} MiB), ${tally.verified} loads verified, 0 wrong; RSS MiB baseline ${baseline.map((v) => (v / MiB).toFixed(0)).join("/")} peak ${peak.map((v) => (v / MiB).toFixed(0)).join("/")}`);
  }, (SECONDS + 120) * 1000);
});
