import { LocationTracker } from "../metadata/location-tracker.js";
import { MemoryMetadataStore } from "../metadata/memory-metadata-store.js";
import type { AppConfig } from "../src/config.js";
import { TieredStore } from "../storage/tiered-store.js";
import { diskTier, memoryTier, s3Tier } from "../storage/tier-factories.js";
import type { Backend, BackendContext } from "./backend.js";
import { LOCAL_NODE_ID, LocalPeer } from "./local-peer.js";
import { StaticPeerDirectory } from "./peer-directory.js";

/**
 * Embedded mode: everything in this process, no network. Metadata in memory
 * (same interface and semantics as etcd), blocks in a local tiered store —
 * memory, disk when `disk.directory` is set, S3 when `s3.endpoint` is set —
 * seen by the core as one node, "local". The store's moves go to a
 * LocationTracker so descriptors stay true (a block spilled to S3 is marked
 * s3, one dropped for capacity loses its entry).
 */
export async function openEmbeddedBackend(config: AppConfig, context: BackendContext): Promise<Backend> {
  const metadata = new MemoryMetadataStore();
  const tracker = new LocationTracker({ store: metadata, nodeId: LOCAL_NODE_ID, onError: (err) => context.onError(err) });
  let store: TieredStore;
  try {
    store = await TieredStore.open({
      ...tiersOf(config),
      metrics: context.metrics,
      onMove: (move) => void tracker.onMove(move),
      onError: (err) => context.onError(err),
    });
  } catch (err) {
    await metadata.close();
    throw err;
  }
  const info = { nodeId: LOCAL_NODE_ID, address: "", adminAddress: "", startedAt: Date.now() };
  const peers = new StaticPeerDirectory([{ info, peer: new LocalPeer(store) }]);
  let closing: Promise<void> | undefined;
  // The store first (it waits for moves in flight), then the tracker's last updates, then metadata.
  const close = (): Promise<void> => (closing ??= peers.close().then(() => tracker.idle()).finally(() => metadata.close()));
  return { mode: "embedded", metadata, peers, close };
}

function tiersOf(config: AppConfig): Pick<Parameters<typeof TieredStore.open>[0], "memory" | "disk" | "s3"> {
  const { memory, disk, s3, namespace } = config;
  return {
    memory: memoryTier({ capacityBytes: memory.capacityBytes }),
    ...(disk.directory !== "" && disk.capacityBytes > 0 ? { disk: diskTier({ directory: disk.directory, capacityBytes: disk.capacityBytes }) } : {}),
    ...(s3.endpoint !== "" ? { s3: s3Tier({ config: s3, namespace }) } : {}),
  };
}
