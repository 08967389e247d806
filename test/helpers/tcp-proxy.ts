import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/**
 * What the proxy does with traffic, switchable at any time:
 * - pass: forwards both ways;
 * - delay: forwards each chunk `ms` later (order kept);
 * - blackhole: accepts connections and keeps them open, but forwards nothing
 *   either way (a partitioned peer: requests time out, nothing is refused);
 * - refuse: closes new connections at once (a peer that is down).
 */
export type ProxyMode = { readonly kind: "pass" } | { readonly kind: "delay"; readonly ms: number } | { readonly kind: "blackhole" } | { readonly kind: "refuse" };

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** A TCP proxy on 127.0.0.1 in the test process, in front of one target. */
export interface TcpProxy {
  readonly port: number;
  /** "127.0.0.1:<port>" */
  readonly address: string;
  /** Where new connections go (may be set after start, e.g. once the target knows its port). */
  setTarget(target: ProxyTarget): void;
  setMode(mode: ProxyMode): void;
  /** Destroys every open connection (both sides): a reset in the middle of whatever was in flight. */
  cut(): number;
  /** Connections accepted so far, and chunks dropped by blackhole. */
  readonly stats: { readonly accepted: number; readonly dropped: number; readonly refused: number };
  stop(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
}

/** Starts a proxy on a free port; `target` may be given later with setTarget. */
export async function startTcpProxy(target?: ProxyTarget): Promise<TcpProxy> {
  const proxy = new Proxy(target);
  await proxy.listen();
  return proxy;
}

class Proxy implements TcpProxy {
  readonly stats = { accepted: 0, dropped: 0, refused: 0 };
  private readonly server: Server;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = { kind: "pass" };

  constructor(private target: ProxyTarget | undefined) {
    this.server = createServer((client) => this.accept(client));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen({ host: "127.0.0.1", port: 0 }, () => resolve());
    });
  }

  setTarget(target: ProxyTarget): void {
    this.target = target;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
  }

  cut(): number {
    const n = this.pairs.size;
    for (const pair of this.pairs) destroyPair(pair);
    this.pairs.clear();
    return n;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.accepted++;
    client.on("error", () => undefined);
    if (this.mode.kind === "refuse" || this.target === undefined) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const upstream = connect({ host: this.target.host, port: this.target.port });
    upstream.on("error", () => undefined);
    const pair: Pair = { client, upstream };
    this.pairs.add(pair);
    this.forward(client, upstream);
    this.forward(upstream, client);
    const drop = (): void => {
      this.pairs.delete(pair);
      destroyPair(pair);
    };
    client.on("close", drop);
    upstream.on("close", drop);
  }

  /** Forwards `from` → `to` per the mode at the moment each chunk arrives, with backpressure. */
  private forward(from: Socket, to: Socket): void {
    from.on("data", (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === "blackhole") {
        this.stats.dropped++;
        return;
      }
      if (mode.kind === "delay") {
        setTimeout(() => to.destroyed || to.write(chunk), mode.ms);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once("drain", () => from.resume());
      }
    });
  }
}

function destroyPair(pair: Pair): void {
  pair.client.destroy();
  pair.upstream.destroy();
}
