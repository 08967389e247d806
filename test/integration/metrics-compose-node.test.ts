import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId } from "../../src/block.js";
import { loadConfig, type ConfigOverrides } from "../../src/config.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { PeerClient } from "../../sdk/peer-client.js";
import { cleanupAfterTest, stopAfterTest } from "../helpers/cleanup.js";
import { testEtcdEndpoints, testS3, uniqueName } from "../helpers/env.js";
import { startNodeProcess } from "../helpers/node-process.js";
import { loadCompose, nodeServiceConfig } from "../unit/compose-file.js";
import { scrape, valueOf } from "./metrics-fixtures.js";

interface ComposeNodeFile {
  namespace: string;
  memory: { capacityBytes: number };
  disk: { directory?: string; capacityBytes: number };
  s3: { bucket: string; prefix: string };
  node: Record<string, unknown>;
}

describe("the compose nodes' configuration", () => {
  it("runs node1 from config/compose-node.json and its compose environment, pointed at the test etcd and S3", async () => {
    const { file, env } = nodeServiceConfig(loadCompose(), "node1");
    const composed = file as unknown as ComposeNodeFile;
    const s3 = testS3();
    const rootPrefix = `/${uniqueName("compose")}`;
    // The compose variables, with the endpoints and credentials of compose's services swapped for the harness's.
    const swapped: Record<string, string> = {
      DATENLORD_ETCD_ENDPOINTS: testEtcdEndpoints().join(","),
      DATENLORD_S3_ENDPOINT: s3.endpoint,
      DATENLORD_S3_ACCESS_KEY_ID: s3.accessKeyId,
      DATENLORD_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      DATENLORD_NODE_ADVERTISE_ADDRESS: "", // ports are picked at start: advertise what is bound
    };
    for (const key of Object.keys(swapped)) expect(Object.keys(env), `compose sets ${key}`).toContain(key);
    const nodeEnv = { ...env, ...swapped, DATENLORD_ETCD_ROOT_PREFIX: rootPrefix };
    // The file as mounted, but on loopback, free ports, a temp disk directory and this run's bucket and prefix.
    const { directory: _composeDisk, ...disk } = composed.disk;
    const fileForTest = {
      ...composed,
      disk,
      s3: { ...composed.s3, bucket: s3.bucket, prefix: uniqueName("compose") },
      node: { ...composed.node, host: "127.0.0.1", adminHost: "127.0.0.1", port: 0, adminPort: 0 },
    } as ConfigOverrides;
    const node = stopAfterTest(await startNodeProcess({ configOverrides: fileForTest, env: nodeEnv }));

    expect(node.nodeId).toBe(env["DATENLORD_NODE_ID"]);
    const metadata = await EtcdMetadataStore.connect({ config: loadConfig({ overrides: { etcd: { endpoints: testEtcdEndpoints(), rootPrefix } }, env: {} }).etcd });
    cleanupAfterTest(() => metadata.close());
    expect((await metadata.liveNodes()).map((n) => [n.nodeId, n.address])).toEqual([["node1", node.address]]);

    const config = loadConfig({ env: {} });
    const peer = new PeerClient({ nodeId: node.nodeId, address: node.address, timeoutMs: 20_000, limits: config.limits });
    cleanupAfterTest(() => peer.close());
    const id = newBlockId();
    await peer.put(id, makeBlock(Buffer.from("compose block")));
    expect((await peer.get(id))?.data.toString()).toBe("compose block");
    expect(await peer.get(newBlockId())).toBeUndefined();

    const m = await scrape(node.adminUrl);
    expect(valueOf(m, "kvcache_tier_capacity_bytes", { tier: "memory" })).toBe(composed.memory.capacityBytes);
    expect(valueOf(m, "kvcache_tier_capacity_bytes", { tier: "disk" })).toBe(composed.disk.capacityBytes);
    expect(valueOf(m, "kvcache_live_nodes")).toBe(1);
    // The miss went through every tier, S3 included (reached at the endpoint from the environment), without an error.
    expect(valueOf(m, "kvcache_tier_misses_total", { tier: "s3" })).toBe(1);
    expect(valueOf(m, "kvcache_backend_errors_total")).toBe(0);
    expect(valueOf(m, "kvcache_requests_total", { op: "node_get", result: "hit" })).toBe(1);
  });
});
