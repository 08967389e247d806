import * as fsp from "node:fs/promises";
import { ErrorCode, KvCacheError } from "../src/errors.js";

/** The part of an open file the disk tier uses (node's FileHandle fits). */
export interface DiskFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The file-system calls the disk tier makes: a seam so tests can inject faults
 * (ENOSPC on write, EIO on read) without a real full disk. Errors must carry
 * node's `code` ("ENOENT", "ENOSPC"…) as node's own do.
 */
export interface DiskFs {
  mkdir(path: string): Promise<void>;
  open(path: string, flags: "r" | "wx"): Promise<DiskFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<{ size: number; mtimeMs: number }>;
}

/** {@link DiskFs} over node:fs/promises. */
export const nodeDiskFs: DiskFs = {
  mkdir: async (path) => {
    await fsp.mkdir(path, { recursive: true });
  },
  open: (path, flags) => fsp.open(path, flags),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readFile: (path) => fsp.readFile(path),
  readdir: (path) => fsp.readdir(path),
  stat: (path) => fsp.stat(path),
};

/** node's error code ("ENOENT"…) of a file-system error, if it has one. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return fsErrorCode(err) === "ENOENT";
}

/**
 * The disk tier's one mapping of foreign errors: a KvCacheError passes through,
 * anything else becomes ERR_TIER_IO naming the operation and path, cause kept.
 */
export function diskIoError(err: unknown, op: string, path: string): KvCacheError {
  if (err instanceof KvCacheError) return err;
  const code = fsErrorCode(err) ?? "unknown";
  const reason = err instanceof Error ? err.message : String(err);
  return new KvCacheError(ErrorCode.TIER_IO, `disk tier ${op} failed on ${path}: ${reason}`, {
    cause: err,
    details: { tier: "disk", op, path, fsCode: code },
  });
}
