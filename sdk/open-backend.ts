import type { AppConfig } from "../src/config.js";
import type { Backend, BackendContext } from "./backend.js";

/**
 * Cluster mode when etcd endpoints are configured; otherwise everything in this
 * process. Each mode is imported on first use, so an embedded user never loads
 * the etcd (gRPC) client and a cluster user never loads the local tiers.
 */
export async function openBackend(config: AppConfig, context: BackendContext): Promise<Backend> {
  if (config.etcd.endpoints.length > 0) {
    const { openClusterBackend } = await import("./cluster-backend.js");
    return openClusterBackend(config, context);
  }
  const { openEmbeddedBackend } = await import("./embedded-backend.js");
  return openEmbeddedBackend(config, context);
}
