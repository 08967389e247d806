import { connect, type Socket } from "node:net";
import { spawnChild, unlessExited, type ChildHandle } from "../test/helpers/child.js";
import { waitFor } from "../test/helpers/wait-for.js";

/**
 * The loopback ceiling: a plain Node socket server in its own process answers
 * each 4-byte request (a size, big-endian) with that many bytes from one
 * preallocated buffer; the client only counts what arrives. No framing, no
 * checksum, no copy: what any protocol on Node sockets can at best reach here.
 */
const SERVER = `
const net = require("node:net");
const blocks = new Map();
const server = net.createServer({ noDelay: true }, (s) => {
  let pending = Buffer.alloc(0);
  s.on("data", (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    for (; at + 4 <= pending.length; at += 4) {
      const size = pending.readUInt32BE(at);
      let block = blocks.get(size);
      if (block === undefined) blocks.set(size, (block = Buffer.alloc(size, 7)));
      s.write(block);
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

  fetch(size: number): Promise<number> {
    return new Promise((resolve) => {
      this.waiting = { remaining: size, resolve: () => resolve(size) };
      const request = Buffer.allocUnsafe(4);
      request.writeUInt32BE(size, 0);
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
