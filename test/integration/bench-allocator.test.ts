import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hasAllocatorSettings, KEEP_FREED_MEMORY } from "../../bench/allocator.js";

const PROBE = fileURLToPath(new URL("../fixtures/allocator-probe.ts", import.meta.url));

/** Runs the probe without the settings in its environment; its exit code and output. */
function runProbe(...args: string[]): Promise<{ code: number | null; pid: number; out: string }> {
  const env = { ...process.env };
  for (const name of Object.keys(KEEP_FREED_MEMORY)) delete env[name];
  const child = spawn(process.execPath, ["--import", "tsx", PROBE, ...args], { env, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, pid: child.pid!, out }));
  });
}

describe("bench allocator settings", () => {
  it("are recognised only when every variable has its value", () => {
    expect(hasAllocatorSettings({ ...KEEP_FREED_MEMORY })).toBe(true);
    expect(hasAllocatorSettings({})).toBe(false);
    expect(hasAllocatorSettings({ ...KEEP_FREED_MEMORY, MALLOC_TRIM_THRESHOLD_: "0" })).toBe(false);
  });

  it("are given to a re-run of the same script, with its arguments, ending with its exit code", async () => {
    const run = await runProbe("7", "--flag");
    expect(run.code).toBe(7);
    const seen = JSON.parse(run.out) as { argv: string[]; env: Record<string, string>; parent: number };
    expect(seen.argv).toEqual(["7", "--flag"]);
    expect(seen.env).toEqual(KEEP_FREED_MEMORY);
    expect(seen.parent).toBe(run.pid);
  });

  it("end the first run as a signal ended the re-run", async () => {
    const run = await runProbe("term");
    expect(run.code).toBe(128 + 15);
    expect(JSON.parse(run.out)).toMatchObject({ argv: ["term"] });
  });
});
