import { EtcdMetadataStore } from "../metadata/etcd-metadata-store.js";
import type { AppConfig } from "../src/config.js";
import type { Backend, BackendContext } from "./backend.js";
import { ClusterPeerDirectory } from "./cluster-directory.js";
import { PeerClient } from "./peer-client.js";
import { peerSecurity } from "./peer-security.js";
import { S3Reads } from "./s3-reads.js";
import { openSharedMemoryFile, SharedMemoryPeer } from "./shared-memory-peer.js";

/** Sockets one SDK process keeps to one node at most. */
const CONNECTIONS_PER_NODE = 8;

/**
 * Cluster mode: metadata in etcd, data on the live cache nodes over TCP (with
 * the cluster secret and TLS when configured) or, for nodes on this host,
 * through their shared memory file (sdk.sharedMemory), and cold blocks straight
 * from S3 when the SDK has S3 settings (sdk.directS3Reads).
 * Rejects ERR_ETCD_UNAVAILABLE (naming the endpoints) when etcd cannot be reached.
 */
export async function openClusterBackend(config: AppConfig, { metrics }: BackendContext): Promise<Backend> {
  const security = peerSecurity(config);
  const metadata = await EtcdMetadataStore.connect({ config: config.etcd, metrics });
  try {
    const peers = await ClusterPeerDirectory.open(metadata, (node) => {
      const client = new PeerClient({
        nodeId: node.nodeId,
        address: node.address,
        timeoutMs: config.cluster.requestTimeoutMs,
        maxConnections: CONNECTIONS_PER_NODE,
        limits: config.limits,
        metrics,
        ...security,
      });
      const file = config.sdk.sharedMemory && node.sharedMemory !== undefined ? openSharedMemoryFile(node.sharedMemory) : undefined;
      return file === undefined ? client : new SharedMemoryPeer({ client, file, metrics });
    });
    const s3 = config.s3.endpoint !== "" && config.sdk.directS3Reads ? new S3Reads(config.s3, config.namespace, () => peers.nodes(), metrics) : undefined;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => (closing ??= Promise.all([peers.close(), s3?.close()]).finally(() => metadata.close()).then(() => undefined));
    return { mode: "cluster", metadata, peers, close, ...(s3 === undefined ? {} : { s3 }) };
  } catch (err) {
    await metadata.close();
    throw err;
  }
}
