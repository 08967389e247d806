import { connect, type Socket } from "node:net";
import { spawnChild, unlessExited, type ChildHandle } from "../test/helpers/child.js";
import { waitFor } from "../test/helpers/wait-for.js";

/**
 * The loopback ceiling: a plain Node socket server in its own process answers
 * each 8-byte request (a size and a block count, big-endian) with the next of
 * `count` distinct preallocated blocks of that size, in turn: the same working
 * set the cache serves (one hot buffer would be copied from CPU cache, which no
 * cache of many blocks gets). The client only counts what arrives. No framing,
 * no checksum, no copy: what any protocol on Node sockets can at best reach here.
 */
const SERVER = `
const net = require("node:net");
const blocks = new Map();
const server = net.createServer({ noDelay: true }, (s) => {
  let pending = Buffer.alloc(0);
  s.on("data", (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    for (; at + 8 <= pending.length; at += 8) {
      const size = pending.readUInt32BE(at);
      const count = pending.readUInt32BE(at + 4);
      let set = blocks.get(size);
      if (set === undefined || set.list.length !== count) {
        set = { next: 0, list: Array.from({ length: count }, (_, i) => Buffer.alloc(size, i & 0xff)) };
        blocks.set(size, set);
      }
      s.write(set.list[set.next++ % count]);
    }
    pending = pending.subarray(at);
  });
  s.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => console.log("PORT " + server.address().port));
`;

export interface RawTcpServer {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startRawTcpServer(): Promise<RawTcpServer> {
  let port: number | undefined;
  const child: ChildHandle = spawnChild(process.execPath, ["-e", SERVER], { onStdout: (t) => (port ??= Number(/PORT (\d+)/.exec(t)?.[1]) || undefined) });
  try {
    await unlessExited(child, "raw TCP server", (signal) => waitFor(() => port, { what: "the raw TCP server's port", signal }));
  } catch (err) {
    await child.kill("SIGKILL");
    throw err;
  }
  return { port: port!, pid: child.pid, stop: async () => void (await child.kill("SIGTERM")) };
}

/** One client connection: `fetch(size)` asks for `size` bytes and resolves once they all arrived. */
export class RawTcpClient {
  private waiting: { remaining: number; resolve: () => void } | undefined;

  private constructor(private readonly socket: Socket, direct: boolean) {
    if (!direct) socket.on("data", (chunk: Buffer) => this.receive(chunk.length));
  }

  /**
   * `direct`: read through net's `onread` into one reused buffer (as the SDK reads
   * reply bodies, minus the fresh buffer per block) instead of 'data' events.
   */
  static async open(port: number, direct = false): Promise<RawTcpClient> {
    let client: RawTcpClient | undefined;
    const onread = { buffer: Buffer.allocUnsafeSlow(4 * 1024 * 1024), callback: (n: number): boolean => (client!.receive(n), true) };
    const socket = connect({ host: "127.0.0.1", port, noDelay: true, ...(direct ? { onread } : {}) });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    client = new RawTcpClient(socket, direct);
    return client;
  }

  /** Asks for `size` bytes: the next of `blocks` distinct blocks of that size the server keeps. */
  fetch(size: number, blocks: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = { remaining: size, resolve: () => resolve(size) };
      const request = Buffer.allocUnsafe(8);
      request.writeUInt32BE(size, 0);
      request.writeUInt32BE(blocks, 4);
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(bytes: number): void {
    const w = this.waiting!;
    w.remaining -= bytes;
    if (w.remaining > 0) return;
    this.waiting = undefined;
    w.resolve();
  }
}
