import { randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import path from "node:path";
import { directoryBytes } from "./shared-directory.js";

/**
 * The file a node's shared memory tier lives in (storage/shared-memory-tier.ts),
 * on a tmpfs such as /dev/shm, so an SDK on the same host moves block bytes with
 * one pread / pwrite instead of a trip through the loopback TCP stack.
 *
 * Layout: a {@link SHARED_HEADER_BYTES} header — magic "DLSM" | version u8 |
 * 3 zero bytes | token (16 raw bytes) | directory slots u32 — then the
 * directory (src/shared-directory.ts), then the block region. Offsets on the
 * wire (LOCATE, RESERVE) and in the directory are offsets into the whole file.
 *
 * The node advertises `{ path, token }` in membership; an SDK uses the file only
 * when it can open that path and finds the same token in its header, which proves
 * it shares the node's host (and file system namespace). The file is created
 * mode 0600: only the node's user (or root) can use it.
 */
export interface SharedMemoryFile {
  readonly path: string;
  /** 32 hex characters, also in the file header. */
  readonly token: string;
}

export const SHARED_HEADER_BYTES = 4096;
const MAGIC = 0x444c534d; // "DLSM"
/** 3: the header and directory are written in full at creation, so the file can be mapped (storage/shared-file-lifecycle.ts). */
const VERSION = 3;
const TOKEN_BYTES = 16;
const FILE_PREFIX = "datenlordsdk-";
const FILE_SUFFIX = ".memory";

/** A new file's absolute path and token: `<directory>/datenlordsdk-<pid>-<token>.memory` (a relative directory is resolved). */
export function newSharedMemoryFile(directory: string, pid: number): SharedMemoryFile {
  const token = randomBytes(TOKEN_BYTES).toString("hex");
  return { path: path.join(path.resolve(directory), `${FILE_PREFIX}${pid}-${token}${FILE_SUFFIX}`), token };
}

const SLOTS_AT = 8 + TOKEN_BYTES;

export function encodeSharedHeader(token: string, directorySlots: number): Buffer {
  const header = Buffer.alloc(SHARED_HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt8(VERSION, 4);
  Buffer.from(token, "hex").copy(header, 8);
  header.writeUInt32BE(directorySlots, SLOTS_AT);
  return header;
}

/** Whether `header` (the file's first bytes) is a header of this version carrying `token` and a well-formed directory size. */
export function sharedHeaderMatches(header: Buffer, token: string): boolean {
  if (header.length < SLOTS_AT + 4 || header.readUInt32BE(0) !== MAGIC || header.readUInt8(4) !== VERSION) return false;
  const slots = header.readUInt32BE(SLOTS_AT);
  return slots > 0 && (slots & (slots - 1)) === 0 && header.subarray(8, 8 + TOKEN_BYTES).toString("hex") === token;
}

/** The directory's home slots, from a header {@link sharedHeaderMatches} accepted. */
export function sharedHeaderSlots(header: Buffer): number {
  return header.readUInt32BE(SLOTS_AT);
}

/** Where the block region starts in a file whose directory has `directorySlots` home slots. */
export function sharedBlocksOffset(directorySlots: number): number {
  return SHARED_HEADER_BYTES + directoryBytes(directorySlots);
}

/**
 * Removes shared memory files left in `directory` by processes that no longer
 * run (a node killed before it could remove its own): a tmpfs file holds its
 * memory until it is deleted. Returns the paths removed.
 */
export async function removeStaleSharedFiles(directory: string, isAlive: (pid: number) => boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fsp.readdir(directory)) {
    const match = new RegExp(`^${FILE_PREFIX}(\\d+)-[0-9a-f]{32}\\${FILE_SUFFIX}$`).exec(name);
    if (match === null || isAlive(Number(match[1]))) continue;
    const file = path.join(directory, name);
    await fsp.rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

/** Whether a process with this pid exists (signal 0 checks without sending). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
