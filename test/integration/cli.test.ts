import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigOverrides } from "../../src/config.js";
import { spawnChild } from "../helpers/child.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { testConfigOverrides } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { freePort } from "../helpers/ports.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));

interface CliRun {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** The environment without DATENLORD_* variables, so only the config file configures the CLI. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DATENLORD_")));
}

/** Runs `datenlordsdk <args>` (through tsx) to completion. */
function runCli(args: readonly string[], input?: Buffer): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CLI, ...args], { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.end(input);
  });
}

describe("CLI against a node process", () => {
  let dir = "";
  let config = "";
  let node: NodeProcess;

  beforeAll(async () => {
    dir = await makeTempDir("datenlord-cli-");
    const overrides: ConfigOverrides = testConfigOverrides({ disk: { directory: join(dir, "cli-disk") } });
    node = await startNodeProcess({ configOverrides: overrides, startTimeoutMs: 60_000 });
    config = join(dir, "config.json");
    await writeFile(config, JSON.stringify(overrides));
  }, 90_000);
  afterAll(async () => {
    await node?.stop();
    await removeDir(dir);
  });

  it("put a file, get the longest prefix to stdout and to a file", async () => {
    const data = Buffer.from([0, 1, 2, 255, 10, 13]);
    await writeFile(join(dir, "in.bin"), data);
    const put = await runCli(["put", "my/key", join(dir, "in.bin"), "--config", config]);
    expect(put.code, put.stderr).toBe(0);
    const get = await runCli(["get", "my/key/and/more", "--config", config]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.equals(data)).toBe(true);
    expect(get.stderr).toContain("matched prefix: my/key");
    const toFile = await runCli(["get", "my/key", join(dir, "out.bin"), "-c", config]);
    expect(toFile.code, toFile.stderr).toBe(0);
    expect((await readFile(join(dir, "out.bin"))).equals(data)).toBe(true);
    const again = await runCli(["put", "my/key", join(dir, "in.bin"), "--config", config]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("already exists");
  }, 60_000);

  it("token keys from stdin; a miss exits 1", async () => {
    const put = await runCli(["put", "--tokens", "1,2,3", "-", "--config", config], Buffer.from("tokens!"));
    expect(put.code, put.stderr).toBe(0);
    const get = await runCli(["get", "--tokens", "1,2,3,4", "--config", config]);
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.toString()).toBe("tokens!");
    expect(get.stderr).toContain("matched prefix: 1,2,3");
    const miss = await runCli(["get", "--tokens", "9", "--config", config]);
    expect(miss.code).toBe(1);
    expect(miss.stdout.length).toBe(0);
    expect(miss.stderr).toContain("miss");
  }, 60_000);

  it("stats and nodes", async () => {
    const stats = await runCli(["stats", "--config", config]);
    expect(stats.code, stats.stderr).toBe(0);
    const parsed = JSON.parse(stats.stdout.toString()) as { mode: string; nodes: { nodeId: string; tiers: Record<string, { bytes: number }> }[] };
    expect(parsed.mode).toBe("cluster");
    expect(parsed.nodes.map((n) => n.nodeId)).toEqual([node.nodeId]);
    expect(parsed.nodes[0]!.tiers["memory"]!.bytes).toBeGreaterThan(0);
    const nodes = await runCli(["nodes", "--config", config]);
    expect(nodes.code, nodes.stderr).toBe(0);
    expect(nodes.stdout.toString().split("\t").slice(0, 2)).toEqual([node.nodeId, node.address]);
  }, 60_000);

  it("refused input exits 2 and stores nothing", async () => {
    const empty = await runCli(["put", "", "-", "--config", config], Buffer.from("x"));
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("ERR_KEY_EMPTY");
    const badTokens = await runCli(["get", "--tokens", "1,x", "--config", config]);
    expect(badTokens.code).toBe(2);
    const missingFile = await runCli(["put", "k", join(dir, "nope.bin"), "--config", config]);
    expect(missingFile.code).toBe(2);
    expect((await runCli(["get", "k", "--config", config])).code).toBe(1);
  }, 60_000);
});

describe("CLI usage and exit codes", () => {
  it("help exits 0; bad command lines exit 2 with the usage line", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain("Exit codes");
    const putHelp = await runCli(["put", "--help"]);
    expect(putHelp.stdout.toString()).toContain("Usage: datenlordsdk put");
    const lines = [[], ["frob"], ["get"], ["get", "--bogus", "k"], ["stats", "extra"], ["put", "k"]];
    const runs = await Promise.all(lines.map((args) => runCli(args)));
    runs.forEach((run, i) => {
      const args = lines[i]!;
      expect(run.code, args.join(" ")).toBe(args.length === 0 ? 0 : 2);
      if (args.length > 0) expect(run.stderr, args.join(" ")).toMatch(/Usage: datenlordsdk/);
    });
  }, 120_000);

  it("a bad config exits 3; unreachable etcd exits 4", async () => {
    const dir = await makeTempDir("datenlord-cli-config-");
    cleanupAfterTest(() => removeDir(dir));
    await writeFile(join(dir, "unknown.json"), JSON.stringify({ etcd: { endpoint: ["http://x:1"] } }));
    const unknown = await runCli(["stats", "--config", join(dir, "unknown.json")]);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("etcd.endpoint");
    expect((await runCli(["nodes", "--config", join(dir, "missing.json")])).code).toBe(3);
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    await writeFile(join(dir, "down.json"), JSON.stringify({ etcd: { endpoints: [endpoint], requestTimeoutMs: 1000 } }));
    const down = await runCli(["get", "k", "--config", join(dir, "down.json")]);
    expect(down.code).toBe(4);
    expect(down.stderr).toContain("ERR_ETCD_UNAVAILABLE");
    expect(down.stderr).toContain(endpoint);
    expect((await runCli(["node", "--config", join(dir, "unknown.json")])).code).toBe(3);
  }, 120_000);

  it("node runs a cache node until SIGTERM, then exits 0", async () => {
    const dir = await makeTempDir("datenlord-cli-node-");
    cleanupAfterTest(() => removeDir(dir));
    const overrides = testConfigOverrides({ node: { port: 0, adminPort: 0 }, disk: { directory: join(dir, "disk") } });
    await writeFile(join(dir, "node.json"), JSON.stringify(overrides));
    let stdout = "";
    const child = spawnChild(process.execPath, ["--import", "tsx", CLI, "node", "--config", join(dir, "node.json")], {
      env: cleanEnv(), onStdout: (t) => (stdout += t),
    });
    cleanupAfterTest(() => child.kill("SIGKILL"));
    const ready = await waitFor(() => stdout.split("\n").find((l) => l.includes('"event":"ready"')), { what: "the node's ready line", timeoutMs: 60_000 });
    const { adminAddress } = JSON.parse(ready) as { adminAddress: string };
    expect((await fetch(`http://${adminAddress}/healthz`)).ok).toBe(true);
    const exit = await child.kill("SIGTERM");
    expect(exit.code).toBe(0);
  }, 120_000);
});
