import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("examples", () => {
  it("quickstart runs in embedded mode with no services and prints the hit and the miss", async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("DATENLORD_")));
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "examples/quickstart.ts"], { cwd: ROOT, env, timeout: 60_000 });
    expect(stdout).toContain('hit: matched prefix "my/key" -> "My cache data"');
    expect(stdout).toContain('miss: "unrelated" has no stored prefix');
  }, 90_000);
});
