import fs, { promises as fsp } from "node:fs";
import { promisify } from "node:util";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { writeFully } from "../src/positional-io.js";
import { encodeSharedHeader, newSharedMemoryFile, processIsAlive, removeStaleSharedFiles, SHARED_HEADER_BYTES, sharedBlocksOffset, type SharedMemoryFile } from "../src/shared-memory-file.js";

const open = promisify(fs.open);
const close = promisify(fs.close);
const ftruncate = promisify(fs.ftruncate);
const ZERO_CHUNK_BYTES = 1024 * 1024;

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
 *
 * The header and directory are written in full (zeros), never left as holes,
 * and the file is sized once here and never shrinks: SDKs on this host may map
 * it (sdk/shared-file-reader.ts), and a mapped read of a hole would allocate
 * its page (or raise SIGBUS when the file system is full), a read past the end
 * would raise SIGBUS. Block bytes are read only once listed, after they are
 * written.
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
    await writeZeros(fd, SHARED_HEADER_BYTES, sharedBlocksOffset(directorySlots));
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

/** Zeros over [from, to) of the file, 1 MiB at a time (a directory is up to 64 MiB). */
async function writeZeros(fd: number, from: number, to: number): Promise<void> {
  const zeros = Buffer.alloc(Math.min(ZERO_CHUNK_BYTES, to - from));
  for (let at = from; at < to; at += zeros.length) await writeFully(fd, zeros.subarray(0, Math.min(zeros.length, to - at)), at);
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
