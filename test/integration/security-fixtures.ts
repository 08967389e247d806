import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir, writeFile } from "node:fs/promises";
import { request } from "node:https";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { ConfigOverrides } from "../../src/config.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const MAIN = fileURLToPath(new URL("../../src/node/main.ts", import.meta.url));

/** A node process whose whole output is kept (to search it for secrets), https admin allowed. */
export interface SpawnedNode {
  readonly nodeId: string;
  readonly address: string;
  readonly adminAddress: string;
  readonly metricsAddress: string;
  readonly diskDirectory: string;
  /** Everything the process wrote on stdout and stderr so far. */
  output(): string;
  /** True when the process exited before stop() was called. */
  crashed(): boolean;
  stop(): Promise<void>;
}

interface ReadyLine {
  readonly nodeId: string;
  readonly address: string;
  readonly adminAddress: string;
  readonly metricsAddress: string;
}

/**
 * Spawns `src/node/main.ts --config <tmp>` with `env` added (DATENLORD_* secrets
 * go in there, not in the file) and resolves on its ready line. Unlike
 * startNodeProcess it keeps all output and does not probe /readyz over http,
 * so it also serves nodes whose admin port speaks https.
 */
export async function spawnNode(config: ConfigOverrides, env: NodeJS.ProcessEnv = {}): Promise<SpawnedNode> {
  const tmp = await makeTempDir("datenlord-secure-node-");
  const diskDirectory = join(tmp, "disk");
  const file = join(tmp, "config.json");
  await writeFile(file, JSON.stringify({ ...config, node: { port: 0, adminPort: 0, ...config.node }, disk: { directory: diskDirectory, ...config.disk } }));
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, "--config", file], { env: { ...cleanEnv(), ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = once(child, "close");
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const forced = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(forced);
    process.removeListener("exit", killOnExit);
    await removeDir(tmp);
  };
  try {
    const ready = await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`node exited with ${child.exitCode}:\n${output}`);
      return readyLine(output);
    }, { what: "the node's ready line", timeoutMs: 60_000 });
    return { ...ready, diskDirectory, output: () => output, crashed: () => !stopping && child.exitCode !== null, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readyLine(output: string): ReadyLine | undefined {
  const line = output.split("\n").find((l) => l.startsWith("{\"event\":\"ready\""));
  return line === undefined ? undefined : (JSON.parse(line) as ReadyLine);
}

function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DATENLORD_")));
}

/** GET over https trusting `ca` only; resolves status and body. */
export function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Every file under `dir`, relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}
