import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { spawnChild, unlessExited } from "../test/helpers/child.js";
import { retryPortClash } from "../test/helpers/etcd-process.js";
import { freePort } from "../test/helpers/ports.js";
import { waitFor } from "../test/helpers/wait-for.js";

const run = promisify(execFile);

/** A redis-server process on loopback, the peer baseline. */
export interface RedisProcess {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Finds redis-server; when it is missing and we are root on Debian, installs
 * Debian's redis-server package (as the test harness does for etcd); otherwise
 * the error says how to install it.
 */
export async function ensureRedisInstalled(log: (line: string) => void): Promise<string> {
  const bin = process.env["REDIS_SERVER_BIN"] ?? "/usr/bin/redis-server";
  if (existsSync(bin)) return bin;
  if (process.getuid?.() !== 0 || !existsSync("/etc/debian_version")) {
    throw new Error(`redis-server not found at ${bin}: install it (Debian: sudo apt-get install -y redis-server) or set REDIS_SERVER_BIN`);
  }
  log("redis-server not found: installing Debian's redis-server with apt-get");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], { env, maxBuffer: 64 * 1024 * 1024 });
  await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "redis-server"], { env, maxBuffer: 64 * 1024 * 1024 });
  return bin;
}

/** Starts redis-server on a free loopback port with persistence off (no RDB, no AOF), and waits for PING. */
export async function startRedis(bin: string): Promise<RedisProcess> {
  return retryPortClash(3, async () => {
    const port = await freePort();
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"];
    const child = spawnChild(bin, args);
    const stop = async (): Promise<void> => void (await child.kill("SIGTERM"));
    try {
      await unlessExited(child, "redis-server", (signal) => waitFor(() => ping(port), { what: `redis-server on port ${port}`, signal }));
    } catch (err) {
      await stop();
      if (child.outputTail().includes("Address already in use")) throw new Error("address already in use", { cause: err });
      throw err;
    }
    return { port, pid: child.pid, stop };
  });
}

async function ping(port: number): Promise<boolean> {
  const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined); // "not yet": connect() rejects too
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } finally {
    client.disconnect();
  }
}
