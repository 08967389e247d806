import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { ServerTls } from "./data-server.js";
import type { Logger } from "./logger.js";

/** What a route answers: status, content type and body. */
export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
}

export type AdminRoute = (req: IncomingMessage) => Promise<AdminResponse> | AdminResponse;

export interface AdminServerOptions {
  readonly host: string;
  /** 0: any free port (read it back from `address`). */
  readonly port: number;
  readonly logger: Logger;
  /** Serve https with this key and certificate instead of http. */
  readonly tls?: ServerTls;
}

/**
 * The node's admin HTTP server: GET routes by exact path (/healthz, /readyz,
 * /metrics; later /dashboard). Routes are added with {@link route}, so new
 * pages need no change here.
 */
export class AdminServer {
  private readonly routes = new Map<string, AdminRoute>();

  private constructor(
    private readonly server: Server | HttpsServer,
    private readonly logger: Logger,
  ) {}

  static async listen(options: AdminServerOptions): Promise<AdminServer> {
    const server = options.tls === undefined ? createServer() : createHttpsServer({ key: options.tls.key, cert: options.tls.cert });
    const admin = new AdminServer(server, options.logger);
    server.on("request", (req, res) => void admin.dispatch(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: options.host, port: options.port }, () => {
        server.removeListener("error", reject);
        resolve();
      });
    });
    return admin;
  }

  /** The bound address, "host:port". */
  get address(): string {
    const a = this.server.address() as AddressInfo;
    return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  }

  route(path: string, handler: AdminRoute): this {
    this.routes.set(path, handler);
    return this;
  }

  /** Stops listening and closes idle and open connections. Idempotent. */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? "/", "http://admin").pathname;
    const handler = this.routes.get(path);
    let reply: AdminResponse;
    if (req.method !== "GET" && req.method !== "HEAD") reply = text(405, "method not allowed\n");
    else if (handler === undefined) reply = text(404, "not found\n");
    else reply = await this.run(handler, req, path);
    res.writeHead(reply.status, { "content-type": reply.contentType, "cache-control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : reply.body);
  }

  private async run(handler: AdminRoute, req: IncomingMessage, path: string): Promise<AdminResponse> {
    try {
      return await handler(req);
    } catch (err) {
      this.logger.error("admin route failed", { path, err });
      return text(500, "internal error\n");
    }
  }
}

export function text(status: number, body: string): AdminResponse {
  return { status, contentType: "text/plain; charset=utf-8", body };
}

export function json(status: number, value: unknown): AdminResponse {
  return { status, contentType: "application/json", body: `${JSON.stringify(value)}\n` };
}
