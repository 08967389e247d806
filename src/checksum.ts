import { createRequire } from "node:module";
import { crc32 as zlibCrc32 } from "node:zlib";
import { ErrorCode, KvCacheError } from "./errors.js";
import { nativeFastPath } from "./native.js";

type Crc32 = (data: Uint8Array, initial?: number) => number;

/** Which CRC-32 implementation a process uses: the fastest that loads here. */
export type Crc32Implementation = "simd" | "native" | "zlib";

/**
 * The CRC-32 (IEEE) implementation in use: this package's own (src/native.ts,
 * VPCLMULQDQ over 512-bit lanes, ~50 GB/s here) when it is built and the CPU
 * has AVX-512 and VPCLMULQDQ; else `@node-rs/crc32`'s (carry-less multiply,
 * ~14 GB/s here) when its prebuilt binary loads on this platform; else zlib's
 * (~5 GB/s). All compute the same function, so blocks written with one verify
 * with another.
 */
function pickCrc32(): { readonly fn: Crc32; readonly name: Crc32Implementation } {
  if (nativeFastPath?.simd === true) return { fn: nativeFastPath.crc32, name: "simd" };
  try {
    const native = (createRequire(import.meta.url)("@node-rs/crc32") as { crc32: Crc32 }).crc32;
    if (native(Buffer.from("123456789")) >>> 0 === 0xcbf43926) return { fn: native, name: "native" };
  } catch {
    // no prebuilt binary for this platform: zlib's is correct, only slower
  }
  return { fn: zlibCrc32 as Crc32, name: "zlib" };
}

const CRC32 = pickCrc32();

/** Which CRC-32 implementation this process uses. */
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
