import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeerClient } from "../../sdk/peer-client.js";
import type { KvCacheClient } from "../../sdk/index.js";
import { checksumOf } from "../../src/checksum.js";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix } from "../helpers/s3-objects.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { bytesOf, inParallel, insertInto, loadInto, SdkPool, seesNodes, Tally, testBlocks, type TestBlock } from "./fault-fixtures.js";
import { listFiles } from "./security-fixtures.js";

/**
 * A node SIGKILLed in the middle of inserts (3 node processes, replicas 2,
 * memory small enough that blocks are being demoted to disk when it dies):
 * inserts in flight succeed or fail with a typed error, no caller ever gets a
 * wrong byte, every acknowledged block stays loadable from its other holder,
 * and the node restarted on its disk directory serves only whole blocks.
 */
const KiB = 1024;
const VICTIM = 1;

let dir: string;
let config: ConfigOverrides;
let appConfig: AppConfig;
const nodes: NodeProcess[] = [];
const sdks = new SdkPool();
let client: KvCacheClient;

function nodeConfig(i: number): ConfigOverrides {
  return { ...config, nodeId: `kill-${i}`, disk: { directory: join(dir, `disk-${i}`), capacityBytes: 8 * 1024 * KiB } };
}

beforeAll(async () => {
  dir = await makeTempDir("datenlord-kill-");
  config = testConfigOverrides({
    namespace: uniqueName("fault-kill"),
    etcd: { leaseTtlSeconds: 3 },
    memory: { capacityBytes: 256 * KiB },
    cluster: { replicas: 2, requestTimeoutMs: 5000, sweepGraceMs: 60_000 },
  });
  appConfig = loadConfig({ overrides: config, env: {} });
  nodes.push(...(await Promise.all([0, 1, 2].map((i) => startNodeProcess({ configOverrides: nodeConfig(i), startTimeoutMs: 60_000 })))));
  client = await sdks.connectTo(3, config);
}, 120_000);

afterAll(async () => {
  await sdks.closeAll();
  await Promise.all(nodes.map((n) => n.stop()));
  const s3 = makeTestS3Client(testS3());
  await deletePrefix(s3, testS3().bucket, `${appConfig.s3.prefix}/`);
  s3.destroy();
  await removeDir(dir);
}, 60_000);

describe("a node SIGKILLed in the middle of inserts", () => {
  const before = testBlocks("before", 40, (i) => 16 * KiB + 997 * i, 1);
  const during = testBlocks("during", 160, (i) => 8 * KiB + 613 * i, 2);
  const acked: TestBlock[] = [];
  const refused: TestBlock[] = [];

  it("inserts in flight succeed or fail typed; 0 wrong bytes; every acknowledged block loads from a surviving holder", async () => {
    const tally = new Tally();
    await inParallel(before, 8, async (b) => (await insertInto(client, b, tally)) && acked.push(b));
    expect(acked).toHaveLength(40);
    let killedAt = -1;
    await inParallel(during, 8, async (b, i) => {
      if (i === 40) {
        killedAt = i;
        void nodes[VICTIM]!.kill("SIGKILL");
      }
      (await insertInto(client, b, tally)) ? acked.push(b) : refused.push(b);
      await loadInto(client, before[i % before.length]!, tally);
    });
    await nodes[VICTIM]!.waitExit();
    expect(killedAt).toBe(40);
    expect(tally.untyped).toBe(0);
    expect(tally.wrong).toBe(0);
    // Every acknowledged block had a second holder: none may be lost.
    const ackedLoads = new Tally();
    await inParallel(acked, 8, (b) => loadInto(client, b, ackedLoads));
    expect(ackedLoads.summary()).toBe(`verified ${acked.length}, wrong 0, misses 0, failures {}`);
    // A refused insert left nothing, or (its metadata write committed as the error came) the whole block.
    const refusedLoads = new Tally();
    await inParallel(refused, 8, (b) => loadInto(client, b, refusedLoads));
    expect(refusedLoads.wrong + refusedLoads.failed).toBe(0);
    expect(refusedLoads.verified + refusedLoads.misses).toBe(refused.length);
    expect(acked.length + refused.length).toBe(200);
    // The kill was felt: requests to the dead node failed (and were routed around).
    expect(await sdks.nodeErrors()).toBeGreaterThan(0);
  });

  it("restarted on its disk directory, the node re-advertises only whole blocks: every copy it serves matches its descriptor", async () => {
    const victim = nodeConfig(VICTIM);
    const restarted = await startNodeProcess({ configOverrides: victim, startTimeoutMs: 60_000 });
    // The killed process's handle still owns its temp dir: stopping it (already exited) removes that.
    nodes.push(nodes[VICTIM]!);
    nodes[VICTIM] = restarted;
    const files = await listFiles(victim.disk!.directory!);
    expect(files.filter((f) => f.startsWith("tmp/"))).toEqual([]);
    const metadata = await EtcdMetadataStore.connect({ config: appConfig.etcd });
    const peer = new PeerClient({ nodeId: restarted.nodeId, address: restarted.address, timeoutMs: 10_000, limits: appConfig.limits });
    let served = 0;
    try {
      for (const b of acked) {
        const entry = await metadata.get(appConfig.namespace, encodeKey(b.key, appConfig.limits.maxKeyBytes));
        expect(entry, b.key).toBeDefined();
        const copy = await peer.get(entry!.descriptor.blockId);
        if (copy === undefined) continue;
        served++;
        expect(Buffer.from(copy.data).equals(bytesOf(b)), b.key).toBe(true);
        expect(checksumOf(copy.data)).toBe(entry!.descriptor.checksum);
      }
    } finally {
      await peer.close();
      await metadata.close();
    }
    expect(served).toBeGreaterThan(0);
    await seesNodes(client, 3);
    const final = new Tally();
    await inParallel(acked, 8, (b) => loadInto(client, b, final));
    expect(final.summary()).toBe(`verified ${acked.length}, wrong 0, misses 0, failures {}`);
  });
});
