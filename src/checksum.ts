import { createRequire } from "node:module";
import { crc32 as zlibCrc32 } from "node:zlib";
import { ErrorCode, KvCacheError } from "./errors.js";

type Crc32 = (data: Uint8Array, initial?: number) => number;

/**
 * The CRC-32 (IEEE) implementation in use: `@node-rs/crc32`'s native one
 * (carry-less multiply, ~14 GB/s here) when its prebuilt binary loads on this
 * platform, else zlib's (~4–5 GB/s). Both compute the same function, so blocks
 * written with one verify with the other.
 */
function pickCrc32(): { readonly fn: Crc32; readonly name: "native" | "zlib" } {
  try {
    const native = (createRequire(import.meta.url)("@node-rs/crc32") as { crc32: Crc32 }).crc32;
    if (native(Buffer.from("123456789")) >>> 0 === 0xcbf43926) return { fn: native, name: "native" };
  } catch {
    // no prebuilt binary for this platform: zlib's is correct, only slower
  }
  return { fn: zlibCrc32 as Crc32, name: "zlib" };
}

const CRC32 = pickCrc32();

/** Which CRC-32 implementation this process uses ("native" or "zlib"). */
export const checksumImplementation = CRC32.name;

/**
 * Block checksums: CRC-32 (IEEE), computed once at insert and verified on every
 * read from every tier.
 */
export function checksumOf(data: Uint8Array): number {
  return CRC32.fn(data) >>> 0;
}

/** True when `data` matches `checksum`. */
export function checksumMatches(data: Uint8Array, checksum: number): boolean {
  return checksumOf(data) === checksum >>> 0;
}

/** Throws ERR_CHECKSUM_MISMATCH naming `where` when `data` does not match. */
export function assertChecksum(data: Uint8Array, checksum: number, where: string): void {
  if (!checksumMatches(data, checksum)) {
    throw new KvCacheError(ErrorCode.CHECKSUM_MISMATCH, `checksum mismatch in ${where}`, {
      details: { where, expected: checksum >>> 0, actual: checksumOf(data) },
    });
  }
}
