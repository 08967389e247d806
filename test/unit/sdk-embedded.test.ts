import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { DatenLordSDK, ErrorCode, KvCacheError, type DegradedEvent } from "../../sdk/index.js";
import type { ConfigOverrides } from "../../src/config.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const KiB = 1024;

/** A real embedded-mode SDK (memory + disk tiers in a temp dir, in-memory metadata), closed after the test. */
async function embedded(overrides: ConfigOverrides = {}): Promise<DatenLordSDK> {
  const dir = await makeTempDir("datenlord-sdk-embedded-");
  cleanupAfterTest(() => removeDir(dir));
  const sdk = new DatenLordSDK({ env: {}, registry: new Registry(), options: { disk: { directory: dir }, ...overrides } });
  cleanupAfterTest(() => sdk.close());
  return sdk;
}

function block(i: number, size: number): Buffer {
  const b = Buffer.alloc(size, i & 0xff);
  b.writeUInt32BE(i, 0);
  return b;
}

describe("embedded mode", () => {
  it("reads nothing ahead: its metadata answers in process (read-ahead is for cluster mode)", async () => {
    const sdk = await embedded();
    await using client = await sdk.connect();
    await client.insert("k", "v");
    for (let i = 0; i < 3; i++) expect((await client.tryLoad("k"))?.data.toString()).toBe("v");
    expect((await sdk.metrics.readAheads.get()).values).toEqual([]);
  });

  it("needs no services: insert, longest-prefix load, miss", async () => {
    const sdk = await embedded();
    await using client = await sdk.connect();
    expect(client.mode).toBe("embedded");
    await client.insert("my/key", Buffer.from("My cache data"));
    const hit = await client.tryLoad("my/key/and/more");
    expect(hit?.matchedPrefix).toBe("my/key");
    expect(hit?.data.toString()).toBe("My cache data");
    expect(await client.tryLoad("unrelated")).toBeNull();
    expect((await client.nodes()).map((n) => n.nodeId)).toEqual(["local"]);
  });

  it("clients of one SDK share the cache; the caller's buffers are not the cache's", async () => {
    const sdk = await embedded();
    const a = await sdk.connect();
    const b = await sdk.connect();
    const data = Buffer.from("original");
    await a.insert([7, 8], data);
    data.fill(0);
    const hit = await b.tryLoad([7, 8, 9]);
    expect(hit?.data.toString()).toBe("original");
    hit!.data.fill(0);
    expect((await a.tryLoad([7, 8]))?.data.toString()).toBe("original");
  });

  it("tryLoad reads into the caller's buffer; a buffer too small throws ERR_BUFFER_TOO_SMALL even when not strict", async () => {
    const sdk = await embedded();
    await using client = await sdk.connect();
    await client.insert("into/a", block(1, 20 * KiB));
    const into = Buffer.alloc(32 * KiB);
    const hit = await client.tryLoad("into/a/b", { into });
    expect(hit?.matchedPrefix).toBe("into/a");
    expect(hit!.data.buffer).toBe(into.buffer);
    expect(Buffer.compare(hit!.data, block(1, 20 * KiB))).toBe(0);
    into.fill(0);
    expect(Buffer.compare((await client.tryLoad("into/a"))!.data, block(1, 20 * KiB))).toBe(0);
    const u8 = new Uint8Array(20 * KiB);
    expect(Buffer.compare((await client.tryLoad("into/a", { into: u8 }))!.data, block(1, 20 * KiB))).toBe(0);
    expect(await client.tryLoad("elsewhere", { into })).toBeNull();
    const small = await client.tryLoad("into/a", { into: Buffer.alloc(10) }).then(() => undefined, (e: unknown) => e);
    expect(small).toBeInstanceOf(KvCacheError);
    expect((small as KvCacheError).code).toBe(ErrorCode.BUFFER_TOO_SMALL);
    expect((small as KvCacheError).details).toMatchObject({ size: 20 * KiB, capacity: 10 });
    for (const bad of [{ into: "x" }, { into: [1, 2] }, 5]) {
      const err = await client.tryLoad("into/a", bad as never).then(() => undefined, (e: unknown) => e);
      expect((err as KvCacheError).code).toBe(ErrorCode.INVALID_ARGUMENT);
    }
  });

  it("blocks evicted from memory load from disk; what disk drops loses its entry; tiers stay within capacity", async () => {
    const sdk = await embedded({ memory: { capacityBytes: 64 * KiB }, disk: { capacityBytes: 256 * KiB } });
    await using client = await sdk.connect();
    const events: DegradedEvent[] = [];
    client.on("degraded", (e) => events.push(e));
    const n = 40;
    for (let i = 0; i < n; i++) await client.insert(`blk/${i}`, block(i, 16 * KiB));
    const stats = await client.stats();
    const tiers = "tiers" in stats.nodes[0]! ? stats.nodes[0].tiers : {};
    expect(tiers["memory"]!.bytes).toBeLessThanOrEqual(64 * KiB);
    expect(tiers["disk"]!.bytes).toBeLessThanOrEqual(256 * KiB);
    let loaded = 0;
    for (let i = 0; i < n; i++) {
      const hit = await client.tryLoad(`blk/${i}/suffix`);
      if (hit === null) continue;
      loaded++;
      expect(hit.data.equals(block(i, 16 * KiB)), `block ${i}`).toBe(true);
    }
    // Memory (4) + disk (16) hold 20 blocks; the rest were dropped (no S3) and their entries removed.
    expect(loaded).toBeGreaterThanOrEqual(16);
    expect(loaded).toBeLessThan(n);
    expect(await client.tryLoad("blk/39")).not.toBeNull();
    expect(events.filter((e) => e.op === "tryLoad")).toEqual([]);
  });

  it("a block larger than every tier is refused with a typed error and nothing is stored", async () => {
    const sdk = await embedded({ memory: { capacityBytes: 16 * KiB }, disk: { capacityBytes: 32 * KiB } });
    await using client = await sdk.connect();
    await expect(client.insert("big", Buffer.alloc(64 * KiB))).rejects.toSatisfy((e: unknown) => e instanceof KvCacheError && e.code === ErrorCode.BLOCK_TOO_LARGE);
    expect(await client.matchPrefix("big")).toBeNull();
  });

  it("works without a disk tier", async () => {
    const sdk = new DatenLordSDK({ env: {}, disk: { directory: "" } });
    cleanupAfterTest(() => sdk.close());
    await using client = await sdk.connect();
    await client.insert("k", "v");
    expect((await client.tryLoad("k"))?.data.toString()).toBe("v");
    const stats = await client.stats();
    expect(Object.keys("tiers" in stats.nodes[0]! ? stats.nodes[0].tiers : {})).toEqual(["memory"]);
  });

  it("reads its configuration from a file; unknown keys are refused", async () => {
    const dir = await makeTempDir("datenlord-sdk-config-");
    cleanupAfterTest(() => removeDir(dir));
    const { writeFile } = await import("node:fs/promises");
    await writeFile(`${dir}/good.json`, JSON.stringify({ namespace: "from-file", disk: { directory: `${dir}/disk` } }));
    await writeFile(`${dir}/bad.json`, JSON.stringify({ namespace: "x", memroy: { capacityBytes: 1 } }));
    const sdk = new DatenLordSDK({ env: {}, configPath: `${dir}/good.json` });
    cleanupAfterTest(() => sdk.close());
    expect(sdk.config.namespace).toBe("from-file");
    expect(() => new DatenLordSDK({ env: {}, configPath: `${dir}/bad.json` })).toThrow(/memroy/);
    expect(() => new DatenLordSDK({ env: {}, configPath: `${dir}/good.json`, options: { sdk: { concurrency: 2 } }, namespace: "both" })).toThrow(
      expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }),
    );
  });
});
