/**
 * Quickstart: the cache in embedded mode — no etcd, no S3, nothing to start.
 * Run with `npm run quickstart`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatenLordSDK } from "../sdk/index.js";

const diskDir = await mkdtemp(join(tmpdir(), "datenlord-quickstart-"));
try {
  // No etcd endpoints configured: metadata in memory, blocks in memory + on disk.
  await using sdk = new DatenLordSDK({ namespace: "quickstart", disk: { directory: diskDir } });
  await using client = await sdk.connect();

  await client.insert("my/key", Buffer.from("My cache data"));

  const hit = await client.tryLoad("my/key/and/more");
  if (hit !== null) console.log(`hit: matched prefix "${hit.matchedPrefix}" -> "${hit.data.toString()}"`);

  const miss = await client.tryLoad("unrelated");
  console.log(miss === null ? `miss: "unrelated" has no stored prefix` : `unexpected hit: ${miss.matchedPrefix}`);
} finally {
  await rm(diskDir, { recursive: true, force: true });
}
