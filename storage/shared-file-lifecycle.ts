import fs, { promises as fsp } from "node:fs";
import { promisify } from "node:util";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { writeFully } from "../src/positional-io.js";
import { encodeSharedHeader, newSharedMemoryFile, processIsAlive, removeStaleSharedFiles, sharedBlocksOffset, type SharedMemoryFile } from "../src/shared-memory-file.js";

const open = promisify(fs.open);
const close = promisify(fs.close);
const ftruncate = promisify(fs.ftruncate);

/** A shared memory tier's file, open. */
export interface OpenSharedFile {
  readonly file: SharedMemoryFile;
  readonly fd: number;
}

/**
 * Creates a shared memory tier's file in `directory` (mode 0600: header, a
 * directory of `directorySlots` home slots, then `capacityBytes` of block
 * region, sparse until written), first removing files
 * left there by dead processes. A directory that is missing or has less room
 * than the capacity is refused with ERR_INVALID_ARGUMENT naming it.
 */
export async function createSharedFile(directory: string, capacityBytes: number, directorySlots: number): Promise<OpenSharedFile> {
  const size = sharedBlocksOffset(directorySlots) + capacityBytes;
  await checkDirectory(directory, size);
  await removeStaleSharedFiles(directory, processIsAlive);
  const file = newSharedMemoryFile(directory, process.pid);
  const fd = await open(file.path, "wx+", 0o600).catch((err: unknown) => {
    throw sharedFileError("create", file.path, err);
  });
  try {
    await writeFully(fd, encodeSharedHeader(file.token, directorySlots), 0);
    await ftruncate(fd, size);
  } catch (err) {
    await close(fd).catch(() => undefined);
    await fsp.rm(file.path, { force: true });
    throw sharedFileError("initialise", file.path, err);
  }
  return { file, fd };
}

/** Closes and removes the file (a tmpfs file holds its memory until removed); failures go to `onError`. */
export async function removeSharedFile(open: OpenSharedFile, onError: (err: unknown) => void): Promise<void> {
  await close(open.fd).catch(onError);
  await fsp.rm(open.file.path, { force: true }).catch(onError);
}

/** ERR_TIER_IO for a failed operation on the shared file, cause kept. */
export function sharedFileError(op: string, path: string, cause: unknown): KvCacheError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new KvCacheError(ErrorCode.TIER_IO, `shared memory tier ${op} failed on ${path}: ${reason}`, { cause, details: { tier: "memory", path } });
}

async function checkDirectory(directory: string, fileBytes: number): Promise<void> {
  const stats = await fsp.statfs(directory).catch((err: unknown) => {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `shared memory directory ${directory} is not usable: ${(err as Error).message}`, { cause: err, details: { directory } });
  });
  const available = stats.bavail * stats.bsize;
  if (available < fileBytes) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `shared memory directory ${directory} has ${available} bytes free, less than the memory tier's file of ${fileBytes} bytes`, {
      details: { directory, available, fileBytes },
    });
  }
}
