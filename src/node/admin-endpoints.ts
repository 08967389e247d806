import type { NodeConfig } from "../config.js";
import { AdminServer, type AdminRoute } from "./admin-server.js";
import type { ServerTls } from "./data-server.js";
import type { Logger } from "./logger.js";

export interface AdminEndpointsOptions {
  readonly config: NodeConfig;
  readonly tls?: ServerTls;
  readonly logger: Logger;
  /** /healthz, /readyz: always on the admin port. */
  readonly health: Readonly<Record<string, AdminRoute>>;
  /** /metrics, and /dashboard through `mount`: on the metrics server when node.metricsHost is set. */
  readonly metrics: AdminRoute;
  readonly mount: (server: AdminServer) => void;
}

/**
 * The node's HTTP endpoints: the admin server, and when `node.metricsHost` is
 * set a second server for /metrics and /dashboard, so that what operators
 * scrape or browse can be bound to another interface than health checks.
 */
export class AdminEndpoints {
  private constructor(
    readonly admin: AdminServer,
    private readonly separate: AdminServer | undefined,
  ) {}

  static async open(options: AdminEndpointsOptions): Promise<AdminEndpoints> {
    const { config, tls, logger } = options;
    const admin = await AdminServer.listen({ host: config.adminHost, port: config.adminPort, logger, tls });
    let separate: AdminServer | undefined;
    try {
      if (config.metricsHost !== "") separate = await AdminServer.listen({ host: config.metricsHost, port: config.metricsPort, logger, tls });
    } catch (err) {
      await admin.close();
      throw err;
    }
    for (const [path, route] of Object.entries(options.health)) admin.route(path, route);
    const metricsServer = separate ?? admin;
    metricsServer.route("/metrics", options.metrics);
    options.mount(metricsServer);
    return new AdminEndpoints(admin, separate);
  }

  /** host:port of /metrics and /dashboard (the admin address unless bound separately). */
  get metricsAddress(): string {
    return (this.separate ?? this.admin).address;
  }

  async close(): Promise<void> {
    await Promise.all([this.admin.close(), this.separate?.close()]);
  }
}
