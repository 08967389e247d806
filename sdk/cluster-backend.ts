import { EtcdMetadataStore } from "../metadata/etcd-metadata-store.js";
import type { AppConfig } from "../src/config.js";
import type { Backend, BackendContext } from "./backend.js";
import { ClusterPeerDirectory } from "./cluster-directory.js";
import { PeerClient } from "./peer-client.js";
import { peerSecurity } from "./peer-security.js";

/** Sockets one SDK process keeps to one node at most. */
const CONNECTIONS_PER_NODE = 8;

/**
 * Cluster mode: metadata in etcd, data on the live cache nodes over TCP (with
 * the cluster secret and TLS when configured).
 * Rejects ERR_ETCD_UNAVAILABLE (naming the endpoints) when etcd cannot be reached.
 */
export async function openClusterBackend(config: AppConfig, { metrics }: BackendContext): Promise<Backend> {
  const security = peerSecurity(config);
  const metadata = await EtcdMetadataStore.connect({ config: config.etcd, metrics });
  try {
    const peers = await ClusterPeerDirectory.open(metadata, (node) => new PeerClient({
      nodeId: node.nodeId,
      address: node.address,
      timeoutMs: config.cluster.requestTimeoutMs,
      maxConnections: CONNECTIONS_PER_NODE,
      limits: config.limits,
      metrics,
      ...security,
    }));
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => (closing ??= peers.close().finally(() => metadata.close()));
    return { mode: "cluster", metadata, peers, close };
  } catch (err) {
    await metadata.close();
    throw err;
  }
}
