import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConfigOverrides } from "../../src/config.js";
import { processIsAlive, removeStaleSharedFiles } from "../../src/shared-memory-file.js";
import { spawnChild, unlessExited, type ChildExit, type ChildHandle } from "./child.js";
import { makeTempDir, removeDir } from "./temp-dir.js";
import { waitFor } from "./wait-for.js";

export interface StartNodeProcessOptions {
  /**
   * Configuration, written to a temp JSON file. Defaults filled in when absent:
   * data and admin ports 0, a fresh disk directory (removed by stop()).
   */
  readonly configOverrides?: ConfigOverrides;
  readonly env?: NodeJS.ProcessEnv;
  /** How long to wait for the ready line and /readyz (default 30 000 ms). */
  readonly startTimeoutMs?: number;
}

/** A cache node running as its own process (src/node/main.ts). */
export interface NodeProcess {
  readonly nodeId: string;
  /** host:port of the data protocol. */
  readonly address: string;
  /** http://host:port of the admin server. */
  readonly adminUrl: string;
  readonly pid: number;
  /** The disk tier's directory (reuse it to restart warm). */
  readonly diskDirectory: string;
  /** Sends `signal` and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
  /** Settles when the process exits. */
  waitExit(): Promise<ChildExit>;
  outputTail(): string;
  /** SIGTERM (SIGKILL if it does not exit within 15 s), then removes the temp files it made. Idempotent. */
  stop(): Promise<void>;
}

interface ReadyLine {
  readonly event: "ready";
  readonly nodeId: string;
  readonly address: string;
  readonly adminAddress: string;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "src", "node", "main.ts");

/** Spawns `node --import tsx src/node/main.ts --config <tmp>` and resolves once it reports ready. */
export async function startNodeProcess(options: StartNodeProcessOptions = {}): Promise<NodeProcess> {
  const tmp = await makeTempDir("datenlord-node-");
  const overrides = options.configOverrides ?? {};
  const diskDirectory = overrides.disk?.directory ?? join(tmp, "disk");
  const config: ConfigOverrides = {
    ...overrides,
    node: { port: 0, adminPort: 0, ...overrides.node },
    disk: { ...overrides.disk, directory: diskDirectory },
  };
  const configFile = join(tmp, "config.json");
  await writeFile(configFile, JSON.stringify(config, null, 2));
  let ready: ReadyLine | undefined;
  let stdout = "";
  const child = spawnChild(process.execPath, ["--import", "tsx", MAIN, "--config", configFile], {
    env: { ...process.env, ...options.env },
    onStdout: (text) => {
      stdout += text;
      ready ??= parseReady(stdout);
    },
  });
  const handle = makeHandle(child, tmp, diskDirectory, config.memory?.sharedDirectory ?? "/dev/shm");
  try {
    const line = await unlessExited(child, "cache node", (signal) => waitFor(() => ready, { what: "the node's ready line", timeoutMs: options.startTimeoutMs ?? 30_000, signal }));
    return await handle.ready(line);
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

function parseReady(stdout: string): ReadyLine | undefined {
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const value = JSON.parse(line) as Partial<ReadyLine>;
      if (value.event === "ready") return value as ReadyLine;
    } catch {
      // a partial line: the rest is still coming
    }
  }
  return undefined;
}

function makeHandle(child: ChildHandle, tmp: string, diskDirectory: string, sharedDirectory: string) {
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const forced = setTimeout(() => void child.kill("SIGKILL"), 15_000);
      await child.kill("SIGTERM");
      clearTimeout(forced);
      await removeDir(tmp);
      // A node killed (SIGKILL) leaves its shared memory file, holding memory until the next node starts there.
      if (sharedDirectory !== "" && existsSync(sharedDirectory)) await removeStaleSharedFiles(sharedDirectory, (pid) => pid !== child.pid && processIsAlive(pid));
    })();
    return stopping;
  };
  const ready = async (line: ReadyLine): Promise<NodeProcess> => {
    const adminUrl = `http://${line.adminAddress}`;
    await waitFor(async () => (await fetch(`${adminUrl}/readyz`)).ok, { what: `${adminUrl}/readyz` });
    return {
      nodeId: line.nodeId,
      address: line.address,
      adminUrl,
      pid: child.pid,
      diskDirectory,
      kill: (signal) => child.kill(signal),
      waitExit: () => child.exited,
      outputTail: () => child.outputTail(),
      stop,
    };
  };
  return { stop, ready };
}
