import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { assertBlockId, type Block, type BlockId } from "../src/block.js";
import { abortError } from "../src/errors.js";
import { decodeBlockFile, decodeHeader, encodeHeader, fileLength, HEADER_BYTES } from "./disk-format.js";
import { diskIoError, isNotFound, type DiskFileHandle, type DiskFs } from "./disk-fs.js";

/**
 * Where the disk tier keeps things, and the file operations on one block:
 *   <root>/blocks/<first 2 hex of id>/<id>   one file per block (see disk-format.ts)
 *   <root>/tmp/<id>.<random>.tmp             writes in progress, renamed into place
 * Ids are validated where they enter the tier, and again here (a regex, cheap
 * next to any I/O), so no path outside the root can ever be formed from one.
 */
export class DiskLayout {
  readonly blocksDir: string;
  readonly tmpDir: string;

  constructor(readonly root: string) {
    this.blocksDir = join(root, "blocks");
    this.tmpDir = join(root, "tmp");
  }

  /** The 256 shard directory names, "00" to "ff". */
  static readonly shards: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

  shardDir(shard: string): string {
    return join(this.blocksDir, shard);
  }

  shardOf(id: BlockId): string {
    assertBlockId(id);
    return this.shardDir(id.slice(0, 2));
  }

  blockPath(id: BlockId): string {
    assertBlockId(id);
    return join(this.blocksDir, id.slice(0, 2), id);
  }

  tempPath(id: BlockId): string {
    assertBlockId(id);
    return join(this.tmpDir, `${id}.${randomBytes(6).toString("hex")}.tmp`);
  }
}

/**
 * Writes `block` so that a reader sees either no file or the whole one: a temp file,
 * fsync, then rename over the final path. Any failure, or an abort before the
 * rename, removes the temp file. The rename is durable only after {@link syncDir}
 * on the block's shard directory, which the caller runs once it has recorded the
 * file (so a failing directory fsync cannot leave an unrecorded file in place).
 */
export async function writeBlockFile(fs: DiskFs, layout: DiskLayout, id: BlockId, block: Block, signal?: AbortSignal): Promise<void> {
  const temp = layout.tempPath(id);
  try {
    await writeDurably(fs, temp, [encodeHeader(block), block.tag ?? new Uint8Array(), block.data]);
    if (signal?.aborted) throw abortError(signal);
    await fs.rename(temp, layout.blockPath(id));
  } catch (err) {
    await removeQuietly(fs, temp);
    throw diskIoError(err, "write", temp);
  }
}

async function writeDurably(fs: DiskFs, path: string, chunks: readonly Uint8Array[]): Promise<void> {
  const handle = await fs.open(path, "wx");
  try {
    let position = 0;
    for (const chunk of chunks) position = await writeAll(handle, chunk, position);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: DiskFileHandle, chunk: Uint8Array, position: number): Promise<number> {
  let done = 0;
  // write() may write less than asked; loop until the chunk is out.
  while (done < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done, position + done);
    done += bytesWritten;
  }
  return position + done;
}

/** fsyncs a directory so entries renamed into it are durable. */
export async function syncDir(fs: DiskFs, dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw diskIoError(err, "fsync directory", dir);
  }
}

/** The verified block at `path`; "missing" when there is no file; "corrupt" when it fails to verify. */
export async function readBlockFile(fs: DiskFs, path: string): Promise<Block | "missing" | "corrupt"> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(path);
  } catch (err) {
    if (isNotFound(err)) return "missing";
    throw diskIoError(err, "read", path);
  }
  return decodeBlockFile(bytes) ?? "corrupt";
}

/** What a warm restart needs to know of one block file, without reading its data. */
export interface BlockFileInfo {
  readonly dataLength: number;
  readonly mtimeMs: number;
}

/**
 * Size and age of the block file at `path` when its header is well-formed and the
 * file has the promised length; undefined for a bad or vanished file.
 */
export async function inspectBlockFile(fs: DiskFs, path: string): Promise<BlockFileInfo | undefined> {
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    const handle = await fs.open(path, "r");
    try {
      const { bytesRead } = await handle.read(head, 0, HEADER_BYTES, 0);
      const header = decodeHeader(head.subarray(0, bytesRead));
      const { size, mtimeMs } = await fs.stat(path);
      return header !== undefined && fileLength(header) === size ? { dataLength: header.dataLength, mtimeMs } : undefined;
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw diskIoError(err, "read header", path);
  }
}

/** Deletes a file; a missing one is fine. */
export async function removeFile(fs: DiskFs, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch (err) {
    if (!isNotFound(err)) throw diskIoError(err, "unlink", path);
  }
}

/** Best-effort cleanup on an error path, where the first error is the one to report. */
async function removeQuietly(fs: DiskFs, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch {
    // The temp directory is swept at the next open anyway.
  }
}
