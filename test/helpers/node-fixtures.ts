import { Registry, type Counter } from "prom-client";
import { DatenLordSDK, type KvCacheClient } from "../../sdk/index.js";
import { PeerClient } from "../../sdk/peer-client.js";
import { makeBlock, newBlockId, type Block, type BlockId } from "../../src/block.js";
import { encodeBlockTag } from "../../src/block-tag.js";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../../src/config.js";
import { encodeKey, type EncodedKey } from "../../src/keys.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import type { BlockDescriptor } from "../../metadata/metadata-store.js";
import { cleanupAfterTest, stopAfterTest } from "./cleanup.js";
import { testConfigOverrides, testS3, uniqueName } from "./env.js";
import { counterValue } from "./metric-value.js";
import { startNodeProcess, type NodeProcess, type StartNodeProcessOptions } from "./node-process.js";
import { makeTestS3Client } from "./s3-client.js";
import { deletePrefix } from "./s3-objects.js";

/**
 * One test's cluster context: config overrides on the shared etcd and S3 under
 * fresh prefixes and a fresh namespace, the metadata store the SDK would use,
 * and helpers that write blocks the way the SDK does (PUT to a node, then the
 * descriptor naming it). Everything is cleaned up when the test finishes.
 */
export interface NodeCluster {
  readonly overrides: ConfigOverrides;
  readonly config: AppConfig;
  readonly namespace: string;
  readonly metadata: EtcdMetadataStore;
  /** Starts a node process on this cluster's config (merged with `extra`), stopped after the test. */
  startNode(extra?: ConfigOverrides, options?: Omit<StartNodeProcessOptions, "configOverrides">): Promise<NodeProcess>;
  /** A PeerClient to `node`, closed after the test. */
  client(node: { nodeId: string; address: string }, timeoutMs?: number): PeerClient;
  /** PUT to `peer` then insertIfAbsent naming `holders` (default: the peer's node). */
  insert(peer: PeerClient, key: string, data: Buffer, holders?: string[]): Promise<InsertedBlock>;
  descriptor(key: string): Promise<BlockDescriptor | undefined>;
}

export interface InsertedBlock {
  readonly key: string;
  readonly id: BlockId;
  readonly block: Block;
}

export async function nodeCluster(extra: ConfigOverrides = {}): Promise<NodeCluster> {
  const namespace = uniqueName("ns");
  const overrides = testConfigOverrides({ namespace, ...extra });
  const config = loadConfig({ overrides, env: {} });
  const metadata = await EtcdMetadataStore.connect({ config: config.etcd });
  cleanupAfterTest(async () => {
    await metadata.close();
    const s3 = makeTestS3Client(testS3());
    await deletePrefix(s3, config.s3.bucket, `${config.s3.prefix}/`);
    s3.destroy();
  });
  const key = (k: string): EncodedKey => encodeKey(k, config.limits.maxKeyBytes);
  return {
    overrides,
    config,
    namespace,
    metadata,
    startNode: async (more = {}, options = {}) => stopAfterTest(await startNodeProcess({ ...options, configOverrides: merge(overrides, more) })),
    client: (node, timeoutMs = 20_000) => {
      const c = new PeerClient({ nodeId: node.nodeId, address: node.address, timeoutMs, limits: config.limits });
      cleanupAfterTest(() => c.close());
      return c;
    },
    insert: async (peer, k, data, holders = [peer.nodeId]) => {
      const block = makeBlock(data, encodeBlockTag({ namespace, key: key(k) }));
      const id = newBlockId();
      await peer.put(id, block);
      const descriptor: BlockDescriptor = { blockId: id, size: data.length, checksum: block.checksum, holders: [...holders].sort(), s3: false, createdAt: Date.now() };
      await metadata.insertIfAbsent(namespace, key(k), descriptor);
      return { key: k, id, block };
    },
    descriptor: async (k) => (await metadata.get(namespace, key(k)))?.descriptor,
  };
}

function merge(base: ConfigOverrides, extra: ConfigOverrides): ConfigOverrides {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(extra)) {
    const prev = out[k];
    out[k] = prev !== null && typeof prev === "object" && !Array.isArray(prev) && v !== null && typeof v === "object" && !Array.isArray(v) ? { ...prev, ...v } : v;
  }
  return out as ConfigOverrides;
}

/** A connected SDK client on `cluster` (strict unless `extra` says otherwise), and a counter reader on its own registry. */
export async function sdkClient(cluster: NodeCluster, extra: ConfigOverrides = {}): Promise<{ client: KvCacheClient; counter: (name: string, labels?: Record<string, string>) => Promise<number> }> {
  const registry = new Registry();
  const sdk = new DatenLordSDK({ env: {}, registry, options: { ...cluster.overrides, ...extra, sdk: { strict: true, ...extra.sdk } } });
  cleanupAfterTest(() => sdk.close());
  return {
    client: await sdk.connect(),
    counter: (name, labels = {}) => counterValue(registry.getSingleMetric(name) as Counter, labels),
  };
}
