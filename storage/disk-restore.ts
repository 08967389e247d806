import { join } from "node:path";
import pLimit from "p-limit";
import { isBlockId, type BlockId } from "../src/block.js";
import { DiskLayout, inspectBlockFile, removeFile, syncDir } from "./disk-files.js";
import { diskIoError, type DiskFs } from "./disk-fs.js";

/** A block file found at open. */
export interface FoundBlock {
  readonly id: BlockId;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface RestoreResult {
  /** Blocks on disk, least recently written first (mtime order stands in for recency). */
  readonly blocks: readonly FoundBlock[];
  /** Ids whose block files had a bad header or length; the files are removed. */
  readonly badFiles: readonly BlockId[];
  /** Temp files a crash left behind, removed. */
  readonly tempFiles: number;
}

/** Parallel file inspections at open: enough to hide latency, few enough to stay polite. */
const OPEN_CONCURRENCY = 16;

/**
 * Makes the directory layout ready and reports what a previous run left in it
 * (warm restart). Removes every temp file (a write that never reached its rename)
 * and every block file that fails its header check. Files whose names are not
 * block ids in the right shard are not ours and are left alone.
 */
export async function restoreDirectory(fs: DiskFs, layout: DiskLayout): Promise<RestoreResult> {
  const limit = pLimit(OPEN_CONCURRENCY);
  await mkdir(fs, layout.tmpDir);
  await mkdir(fs, layout.blocksDir);
  const tempFiles = await clearDir(fs, layout.tmpDir, limit);
  await Promise.all(DiskLayout.shards.map((shard) => limit(() => mkdir(fs, layout.shardDir(shard)))));
  // New shard directories must survive a crash before any block is renamed into them.
  await syncDir(fs, layout.blocksDir);
  const scans = await Promise.all(DiskLayout.shards.map((shard) => scanShard(fs, layout, shard, limit)));
  const blocks = scans.flatMap((s) => s.found).sort((a, b) => a.mtimeMs - b.mtimeMs);
  const badFiles = scans.flatMap((s) => s.bad);
  return { blocks, badFiles, tempFiles };
}

type Limit = ReturnType<typeof pLimit>;

async function scanShard(fs: DiskFs, layout: DiskLayout, shard: string, limit: Limit): Promise<{ found: FoundBlock[]; bad: BlockId[] }> {
  const ids = (await list(fs, layout.shardDir(shard))).filter((n) => isBlockId(n) && n.startsWith(shard));
  const results = await Promise.all(ids.map((id) => limit(() => inspectOne(fs, layout, id))));
  const found = results.filter((r): r is FoundBlock => r !== undefined);
  return { found, bad: ids.filter((_, i) => results[i] === undefined) };
}

async function inspectOne(fs: DiskFs, layout: DiskLayout, id: BlockId): Promise<FoundBlock | undefined> {
  const path = layout.blockPath(id);
  const info = await inspectBlockFile(fs, path);
  if (info !== undefined) return { id, size: info.dataLength, mtimeMs: info.mtimeMs };
  await removeFile(fs, path);
  return undefined;
}

async function clearDir(fs: DiskFs, dir: string, limit: Limit): Promise<number> {
  const names = await list(fs, dir);
  await Promise.all(names.map((name) => limit(() => removeFile(fs, join(dir, name)))));
  return names.length;
}

async function mkdir(fs: DiskFs, dir: string): Promise<void> {
  try {
    await fs.mkdir(dir);
  } catch (err) {
    throw diskIoError(err, "mkdir", dir);
  }
}

async function list(fs: DiskFs, dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    throw diskIoError(err, "readdir", dir);
  }
}
