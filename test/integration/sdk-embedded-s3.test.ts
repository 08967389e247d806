import { describe, expect, it } from "vitest";
import { DatenLordSDK } from "../../sdk/index.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { testConfigOverrides } from "../helpers/env.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const KiB = 1024;

describe("embedded mode with an S3 tier", () => {
  it("blocks that overflow memory and disk spill to S3 and still load", async () => {
    const dir = await makeTempDir("datenlord-sdk-embedded-s3-");
    cleanupAfterTest(() => removeDir(dir));
    // testConfigOverrides points at the shared S3 server; without etcd endpoints the SDK stays embedded.
    const { s3 } = testConfigOverrides();
    const sdk = new DatenLordSDK({ env: {}, s3, memory: { capacityBytes: 64 * KiB }, disk: { directory: dir, capacityBytes: 128 * KiB } });
    cleanupAfterTest(() => sdk.close());
    await using client = await sdk.connect();
    const block = (i: number): Buffer => Buffer.alloc(16 * KiB, i);
    for (let i = 0; i < 40; i++) await client.insert(`spill/${i}`, block(i));
    const stats = await client.stats();
    const tiers = "tiers" in stats.nodes[0]! ? stats.nodes[0].tiers : {};
    expect(tiers["memory"]!.bytes).toBeLessThanOrEqual(64 * KiB);
    expect(tiers["disk"]!.bytes).toBeLessThanOrEqual(128 * KiB);
    expect(tiers["s3"]!.items).toBeGreaterThanOrEqual(40 - 12);
    for (let i = 0; i < 40; i++) {
      const hit = await client.tryLoad(`spill/${i}/next`);
      expect(hit?.matchedPrefix, `block ${i}`).toBe(`spill/${i}`);
      expect(hit!.data.equals(block(i))).toBe(true);
    }
  }, 120_000);
});
