import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import type { WireLimits } from "../wire/protocol.js";
import type { Logger } from "./logger.js";
import { ServerConnection, type RequestHandler } from "./server-connection.js";

export interface DataServerOptions {
  readonly host: string;
  /** 0: any free port (read it back from `port`). */
  readonly port: number;
  readonly limits: WireLimits;
  readonly handler: RequestHandler;
  readonly logger: Logger;
}

/** The node's data-protocol listener: a net.Server handing each connection to a {@link ServerConnection}. */
export class DataServer {
  private readonly connections = new Set<ServerConnection>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: DataServerOptions,
  ) {
    server.on("connection", (socket) => this.accept(socket));
  }

  static async listen(options: DataServerOptions): Promise<DataServer> {
    const server = createServer({ noDelay: true });
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
    const conn = new ServerConnection(socket, this.options.limits, this.options.handler, this.options.logger);
    this.connections.add(conn);
    void conn.closed.then(() => this.connections.delete(conn));
  }
}
