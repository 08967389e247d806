import { createServer, type Socket } from "node:net";

/** A TCP server that accepts connections and never answers: for timeouts, aborts and concurrency limits. */
export interface SilentServer {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** Connections open now. */
  open(): number;
  /** The most connections ever open at once. */
  maxOpen(): number;
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let maxOpen = 0;
  const server = createServer((socket) => {
    sockets.add(socket);
    maxOpen = Math.max(maxOpen, sockets.size);
    socket.on("error", () => undefined);
    // Read (and discard) the request: a paused socket never sees the client's FIN.
    socket.resume();
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("silent server has no TCP address");
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    open: () => sockets.size,
    maxOpen: () => maxOpen,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
