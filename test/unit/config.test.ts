import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, redactedConfig } from "../../src/config.js";
import { README_MARKERS, configKeys, configReferenceMarkdown, defaultConfigObject } from "../../src/config-docs.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dlsdk-config-"));
  dirs.push(dir);
  const file = join(dir, "config.json");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

function configErrorOf(fn: () => unknown): KvCacheError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KvCacheError);
    expect((err as KvCacheError).code).toBe(ErrorCode.CONFIG_INVALID);
    return err as KvCacheError;
  }
  throw new Error("expected ERR_CONFIG_INVALID");
}

describe("loadConfig", () => {
  it("loads the defaults, frozen all the way down", () => {
    const config = loadConfig({ env: {} });
    expect(config.namespace).toBe("default");
    expect(config.etcd.endpoints).toEqual([]);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.etcd.endpoints)).toBe(true);
    expect(() => {
      (config.memory as { capacityBytes: number }).capacityBytes = 1;
    }).toThrow(TypeError);
  });

  it("reads a JSON file", async () => {
    const file = await configFile({ namespace: "llama-7b", memory: { capacityBytes: 1024 } });
    const config = loadConfig({ file, env: {} });
    expect(config.namespace).toBe("llama-7b");
    expect(config.memory.capacityBytes).toBe(1024);
  });

  it("rejects an unknown key in a file, naming it", async () => {
    const file = await configFile({ memory: { capacityBytes: 1024, capacityBites: 3 } });
    const err = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain("memory.capacityBites");
    expect(err.details["keys"]).toContain("memory.capacityBites");
  });

  it("rejects a negative capacity, naming the key", async () => {
    const file = await configFile({ disk: { capacityBytes: -5 } });
    const err = configErrorOf(() => loadConfig({ file, env: {} }));
    expect(err.message).toContain("disk.capacityBytes");
    expect(err.details["keys"]).toEqual(["disk.capacityBytes"]);
  });

  it("rejects bad values of every custom format with the key's name", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ etcd: { endpoints: ["not a url"] } }, "etcd.endpoints"],
      [{ s3: { bucket: "No_Such" } }, "s3.bucket"],
      [{ s3: { prefix: "../escape" } }, "s3.prefix"],
      [{ s3: { multipartThresholdBytes: 1024 } }, "s3.multipartThresholdBytes"],
      [{ limits: { maxKeyBytes: 2 ** 21 } }, "limits.maxKeyBytes"],
      [{ namespace: "" }, "namespace"],
      [{ node: { port: 70000 } }, "node.port"],
      [{ cluster: { replicas: 0 } }, "cluster.replicas"],
    ];
    for (const [overrides, key] of cases) {
      const err = configErrorOf(() => loadConfig({ overrides: overrides as never, env: {} }));
      expect(err.details["keys"], key).toContain(key);
    }
  });

  it("rejects unreadable files and invalid JSON with the file's name", async () => {
    const bad = await configFile("{ not json");
    expect(configErrorOf(() => loadConfig({ file: bad, env: {} })).message).toContain(bad);
    expect(configErrorOf(() => loadConfig({ file: "/nonexistent/x.json", env: {} })).message).toContain("/nonexistent/x.json");
    const arr = await configFile("[1]");
    expect(configErrorOf(() => loadConfig({ file: arr, env: {} })).message).toContain("JSON object");
  });

  it("takes DATENLORD_* variables from the injected environment, over the file", async () => {
    const file = await configFile({ namespace: "from-file" });
    const env = { DATENLORD_NAMESPACE: "from-env", DATENLORD_ETCD_ENDPOINTS: "http://127.0.0.1:2379, http://127.0.0.1:22379", DATENLORD_MEMORY_CAPACITY_BYTES: "4096" };
    const config = loadConfig({ file, env });
    expect(config.namespace).toBe("from-env");
    expect(config.etcd.endpoints).toEqual(["http://127.0.0.1:2379", "http://127.0.0.1:22379"]);
    expect(config.memory.capacityBytes).toBe(4096);
  });

  it("never prints secrets", () => {
    const config = loadConfig({ env: { DATENLORD_S3_SECRET_ACCESS_KEY: "hunter2", DATENLORD_ETCD_PASSWORD: "pw-xyz" } });
    expect(config.s3.secretAccessKey).toBe("hunter2");
    const shown = JSON.stringify(redactedConfig(config));
    expect(shown).not.toContain("hunter2");
    expect(shown).not.toContain("pw-xyz");
    expect(shown).toContain("[redacted]");
  });
});

describe("configuration docs", () => {
  it("config/default.json holds every key at its default and loads cleanly", () => {
    const onDisk: unknown = JSON.parse(readFileSync("config/default.json", "utf8"));
    expect(onDisk).toEqual(defaultConfigObject());
    expect(loadConfig({ file: "config/default.json", env: {} })).toEqual(loadConfig({ env: {} }));
  });

  it("the README's configuration reference matches the schema (npm run docs:config)", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf(README_MARKERS.begin) + README_MARKERS.begin.length, readme.indexOf(README_MARKERS.end)).trim();
    expect(section).toBe(configReferenceMarkdown());
    for (const key of configKeys()) expect(section).toContain(`\`${key.path}\``);
  });

  it("every documented config file under config/ is valid", async () => {
    const { readdirSync } = await import("node:fs");
    const files = readdirSync("config").filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(() => loadConfig({ file: join("config", f), env: {} }), f).not.toThrow();
  });
});
