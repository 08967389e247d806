import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type ConfigOverrides } from "../../src/config.js";
import { CacheNode } from "../../src/node/cache-node.js";
import { silentLogger } from "../../src/node/logger.js";
import { nodeDiskFs, type DiskFs } from "../../storage/disk-fs.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import { counterValue } from "../helpers/metric-value.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix, flipObject, listKeys } from "../helpers/s3-objects.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { waitFor } from "../helpers/wait-for.js";
import { scrapeGauge } from "./cluster-fixtures.js";
import { inParallel, insertInto, loadInto, SdkPool, Tally, testBlocks } from "./fault-fixtures.js";
import { listFiles } from "./security-fixtures.js";

const KiB = 1024;
const sdks = new SdkPool();
const prefixes: string[] = [];
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir("datenlord-fault-disk-");
});

afterAll(async () => {
  await sdks.closeAll();
  const s3 = makeTestS3Client(testS3());
  for (const p of prefixes) await deletePrefix(s3, testS3().bucket, `${p}/`);
  s3.destroy();
  await removeDir(dir);
}, 60_000);

/** node:fs, except that block writes fail with ENOSPC while `full` is set. */
function fillableFs(): { fs: DiskFs; full: boolean; failures: number } {
  const state = { full: false, failures: 0, fs: nodeDiskFs };
  state.fs = {
    ...nodeDiskFs,
    open: async (path, flags) => {
      const handle = await nodeDiskFs.open(path, flags);
      if (flags !== "wx") return handle;
      return {
        ...handle,
        read: handle.read.bind(handle), sync: handle.sync.bind(handle), close: handle.close.bind(handle),
        write: (buffer, offset, length, position) => {
          if (!state.full) return handle.write(buffer, offset, length, position);
          state.failures++;
          return Promise.reject(Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: "ENOSPC" }));
        },
      };
    },
  };
  return state;
}

/** A cache node in this process (so its disk's file system can be faked), serving real TCP, registered in the shared etcd. */
async function inProcessNode(name: string, fs: DiskFs, extra: ConfigOverrides): Promise<{ node: CacheNode; config: ConfigOverrides }> {
  const config = testConfigOverrides({
    namespace: uniqueName(name),
    memory: { capacityBytes: 64 * KiB },
    disk: { directory: join(dir, name), capacityBytes: 1024 * KiB },
    node: { port: 0, adminPort: 0 },
    ...extra,
  });
  prefixes.push(config.s3!.prefix!);
  const node = await CacheNode.start({ config: loadConfig({ overrides: config, env: {} }), logger: silentLogger, diskFs: fs });
  return { node, config };
}

describe("disk write failures (ENOSPC injected through the disk tier's DiskFs seam)", () => {
  it("with S3: failed demotions fall through to S3; all 32 blocks load byte-identical, failures counted, no temp file left", async () => {
    const disk = fillableFs();
    const { node, config } = await inProcessNode("enospc-s3", disk.fs, {});
    try {
      const client = await sdks.connectTo(1, config);
      disk.full = true;
      const full = testBlocks("full", 24, () => 16 * KiB, 1);
      const tally = new Tally();
      await inParallel(full, 4, (b) => insertInto(client, b, tally));
      expect(disk.failures).toBeGreaterThan(0);
      expect(await counterValue(node.metrics.backendErrors, { backend: "disk", code: "ERR_TIER_IO" })).toBe(disk.failures);
      expect(await counterValue(node.metrics.blockMoves, { from: "memory", to: "s3", reason: "spilled" })).toBeGreaterThan(0);
      expect(await listFiles(join(dir, "enospc-s3"))).toEqual([]);
      disk.full = false;
      const roomy = testBlocks("roomy", 8, () => 16 * KiB, 2);
      await inParallel(roomy, 4, (b) => insertInto(client, b, tally));
      await inParallel([...full, ...roomy], 8, (b) => loadInto(client, b, tally));
      expect(tally.summary()).toBe("verified 32, wrong 0, misses 0, failures {}");
      expect((await node.metrics.tierItems.get()).values.find((v) => v.labels.tier === "disk")?.value).toBeGreaterThan(0);
    } finally {
      await node.close();
    }
  });

  it("without S3: blocks no tier could take are dropped with their descriptors — misses, never wrong bytes", async () => {
    const disk = fillableFs();
    const { node, config } = await inProcessNode("enospc-only", disk.fs, { s3: { endpoint: "" } });
    try {
      const client = await sdks.connectTo(1, config);
      disk.full = true;
      const blocks = testBlocks("nospace", 16, () => 16 * KiB, 3);
      const tally = new Tally();
      await inParallel(blocks, 4, (b) => insertInto(client, b, tally));
      expect(tally.failed).toBe(0);
      const dropped = await counterValue(node.metrics.blockMoves, { from: "memory", to: "none", reason: "dropped" });
      expect(dropped).toBe(16 - 4);
      expect(await counterValue(node.metrics.backendErrors, { backend: "disk", code: "ERR_TIER_IO" })).toBe(disk.failures);
      const final = new Tally();
      await inParallel(blocks, 8, (b) => loadInto(client, b, final));
      expect(final.summary()).toBe(`verified ${16 - dropped}, wrong 0, misses ${dropped}, failures {}`);
    } finally {
      await node.close();
    }
  });
});

describe("bit flips in stored files and S3 objects (node process)", () => {
  let node: NodeProcess;
  let config: ConfigOverrides;

  beforeAll(async () => {
    config = testConfigOverrides({
      namespace: uniqueName("bitflip"),
      memory: { capacityBytes: 32 * KiB },
      disk: { directory: join(dir, "bitflip"), capacityBytes: 256 * KiB },
    });
    prefixes.push(config.s3!.prefix!);
    node = await startNodeProcess({ configOverrides: config, startTimeoutMs: 60_000 });
  }, 120_000);

  afterAll(async () => {
    await node?.stop();
  });

  it("flipped bits in every disk file and every S3 object are detected and counted, and never returned: 0 wrong bytes", async () => {
    // Reads go through the node (not straight to S3), so the node is the one that meets every flipped copy.
    const client = await sdks.connectTo(1, { ...config, sdk: { directS3Reads: false } });
    const blocks = testBlocks("flip", 40, () => 16 * KiB, 4);
    const tally = new Tally();
    await inParallel(blocks, 4, (b) => insertInto(client, b, tally));
    expect(tally.failed).toBe(0);
    const s3 = makeTestS3Client(testS3());
    const objects = await waitFor(async () => {
      const keys = await listKeys(s3, testS3().bucket, `${config.s3!.prefix}/`);
      return keys.length >= 20 && keys;
    }, { what: "spills to S3" });
    const files = (await listFiles(join(dir, "bitflip"))).filter((f) => f.startsWith("blocks/"));
    for (const f of files) await flipLastByte(join(dir, "bitflip", f));
    for (const key of objects) await flipObject(s3, testS3().bucket, key);
    s3.destroy();

    const loads = new Tally();
    await inParallel(blocks, 8, (b) => loadInto(client, b, loads));
    expect(loads.wrong).toBe(0);
    expect(loads.failed).toBe(0);
    expect(loads.verified + loads.misses).toBe(40);
    // Only blocks still in memory (untouched) can be whole; every flipped copy was caught.
    expect(loads.misses).toBe(files.length + objects.length);
    expect(await scrapeGauge(node.adminUrl, "kvcache_checksum_failures_total", 'tier="disk"')).toBe(files.length);
    expect(await scrapeGauge(node.adminUrl, "kvcache_checksum_failures_total", 'tier="s3"')).toBe(objects.length);
    const again = new Tally();
    await inParallel(blocks, 8, (b) => loadInto(client, b, again));
    expect(again.summary()).toBe(`verified ${loads.verified}, wrong 0, misses ${loads.misses}, failures {}`);
  });
});

async function flipLastByte(path: string): Promise<void> {
  const bytes = await readFile(path);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0x10;
  await writeFile(path, bytes);
}

