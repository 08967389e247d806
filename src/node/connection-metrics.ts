import { Counter, Gauge, type Registry } from "prom-client";
import type { AuthFailure } from "../wire/hello.js";

/** Why the node closed a data-path connection itself. */
export type RefusalReason = "protocol" | "auth" | "header_timeout" | "idle_timeout" | "tls" | "limit";

/**
 * The data server's connection metrics, on the node's registry:
 * kvcache_auth_failures_total{reason} (missing or wrong secret),
 * kvcache_connections_refused_total{reason} (closed by the node: bad frames,
 * auth, timeouts, failed TLS handshakes, the connection cap) and
 * kvcache_connections (open now).
 */
export class ConnectionMetrics {
  readonly authFailures: Counter<"reason">;
  readonly refused: Counter<"reason">;
  readonly open: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.authFailures = new Counter({ name: "kvcache_auth_failures_total", help: "Data-path connections refused for a missing or wrong cluster secret.", labelNames: ["reason"], registers });
    this.refused = new Counter({ name: "kvcache_connections_refused_total", help: "Data-path connections the node closed, by reason.", labelNames: ["reason"], registers });
    this.open = new Gauge({ name: "kvcache_connections", help: "Data-path connections open now.", registers });
  }

  authFailed(reason: AuthFailure): void {
    this.authFailures.inc({ reason });
    this.refused.inc({ reason: "auth" });
  }

  closed(reason: RefusalReason): void {
    this.refused.inc({ reason });
  }
}
