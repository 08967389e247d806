import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import { setTimeout as delay } from "node:timers/promises";
import type { SecretVerifier } from "../wire/hello.js";
import type { WireLimits } from "../wire/protocol.js";
import type { ConnectionMetrics } from "./connection-metrics.js";
import { DEFAULT_HEADER_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, type ConnectionPolicy } from "./connection-policy.js";
import type { Logger } from "./logger.js";
import { ServerConnection, type RequestHandler } from "./server-connection.js";

/** PEM key and certificate the data path is served with. */
export interface ServerTls {
  readonly key: Buffer;
  readonly cert: Buffer;
}

export interface DataServerOptions {
  readonly host: string;
  /** 0: any free port (read it back from `port`). */
  readonly port: number;
  readonly limits: WireLimits;
  readonly handler: RequestHandler;
  readonly logger: Logger;
  /** Cluster secret check (see HelloGate); none: authentication off. */
  readonly verifier?: SecretVerifier;
  /** TLS instead of plain TCP. */
  readonly tls?: ServerTls;
  /** Default 10 000 ms (see ConnectionPolicy); also bounds a TLS handshake. */
  readonly headerTimeoutMs?: number;
  /** Default 300 000 ms. */
  readonly idleTimeoutMs?: number;
  /** Connections beyond this are closed at once, before any handshake (default: no cap). */
  readonly maxConnections?: number;
  readonly metrics?: ConnectionMetrics;
  /** See ConnectionPolicy.bodyBuffer. */
  readonly bodyBuffer?: (length: number) => Buffer | undefined;
}

/** The node's data-protocol listener: a net (or tls) Server handing each connection to a {@link ServerConnection}. */
export class DataServer {
  private readonly connections = new Set<ServerConnection>();
  private readonly policy: ConnectionPolicy;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: DataServerOptions,
  ) {
    this.policy = {
      limits: options.limits,
      verifier: options.verifier,
      headerTimeoutMs: options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      metrics: options.metrics,
      bodyBuffer: options.bodyBuffer,
    };
    server.on(options.tls === undefined ? "connection" : "secureConnection", (socket: Socket) => this.accept(socket));
    this.guard(server, options);
  }

  /** Refusals before a connection is ours: over the connection cap, or a TLS handshake that failed or stalled. */
  private guard(server: Server, { maxConnections, metrics, logger }: DataServerOptions): void {
    // net.Server closes connections over its cap itself (before any TLS handshake) and tells "drop".
    if (maxConnections !== undefined) server.maxConnections = maxConnections;
    server.on("drop", (data?: { remoteAddress?: string }) => {
      metrics?.closed("limit");
      logger.warn("connection limit reached; refusing a client", { remote: data?.remoteAddress, limit: maxConnections });
    });
    server.on("tlsClientError", (err: Error, socket: Socket) => {
      // Node reports a handshake timeout here but leaves the socket open: a stalled handshake would never close.
      socket.destroy();
      metrics?.closed("tls");
      logger.debug("TLS handshake with a client failed", { remote: socket.remoteAddress, err });
    });
  }

  static async listen(options: DataServerOptions): Promise<DataServer> {
    const server = options.tls === undefined
      ? createServer({ noDelay: true })
      : createTlsServer({ key: options.tls.key, cert: options.tls.cert, handshakeTimeout: options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS });
    const data = new DataServer(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
    return data;
  }

  /** The bound host (as given, or the address bound) and port. */
  get boundAddress(): { host: string; port: number } {
    const a = this.server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Connections open right now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Stops accepting, lets every connection finish the request in hand (and a
   * request partly received), then closes them; connections still busy after
   * `drainTimeoutMs` are destroyed. Idempotent.
   */
  close(drainTimeoutMs: number): Promise<void> {
    this.closing ??= this.shutdown(drainTimeoutMs);
    return this.closing;
  }

  private async shutdown(drainTimeoutMs: number): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const all = [...this.connections];
    for (const c of all) c.drain();
    const abort = new AbortController();
    const drained = Promise.all(all.map((c) => c.closed)).then(() => "drained" as const);
    const outcome = await Promise.race([drained, delay(drainTimeoutMs, "timeout" as const, { signal: abort.signal }).catch(() => "timeout" as const)]);
    abort.abort();
    if (outcome === "timeout") {
      this.options.logger.warn("drain timed out; closing busy connections", { connections: this.connections.size, drainTimeoutMs });
      for (const c of this.connections) c.destroy();
    }
    await stopped;
  }

  private accept(socket: Socket): void {
    if (this.closing !== undefined) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(socket, this.policy, this.options.handler, this.options.logger);
    this.connections.add(conn);
    this.options.metrics?.open.set(this.connections.size);
    void conn.closed.then(() => {
      this.connections.delete(conn);
      this.options.metrics?.open.set(this.connections.size);
    });
  }
}
