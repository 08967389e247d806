import { createServer, type Server } from "node:net";

/**
 * A TCP port that was free a moment ago on `host`: the OS picks it (port 0), we
 * read it and close. Another process may take it before the caller binds, so
 * prefer letting a server bind port 0 itself when it can report its port.
 */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/**
 * `count` distinct free ports. The listeners stay open until all are bound, so
 * the OS cannot hand out one port twice (a cluster needs every port up front).
 */
export async function freePorts(count: number, host = "127.0.0.1"): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    return await Promise.all(servers.map((s) => listenOnZero(s, host)));
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

function listenOnZero(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error(`cannot read the port bound on ${host}`));
      else resolve(address.port);
    });
  });
}
