import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/**
 * The native fast path (src/native/datenlord_native.c, built by `npm install`
 * or `npm run build:native`): a CRC-32 folded with VPCLMULQDQ, a copy that
 * computes the CRC-32 of what it copies in the same pass, and read-only shared
 * mappings of files. Optional: without it (no compiler at install, another
 * platform) checksums use @node-rs/crc32 or zlib and shared memory files are
 * read with pread. On a CPU without AVX-512BW and VPCLMULQDQ (`simd` false) the
 * mappings work and the CRC functions still answer correctly, but a byte table
 * at a time (slower than @node-rs/crc32): use them only when `simd` is true.
 */
export interface NativeFastPath {
  /** Whether this CPU runs the folded CRC. */
  readonly simd: boolean;
  /** CRC-32 (IEEE) of `data`, continuing from `initial` (zlib's convention: crc32(b, crc32(a)) = crc32(a ‖ b)). */
  crc32(data: Uint8Array, initial?: number): number;
  /** Copies `src` into `dst` (same length, not overlapping) and returns the CRC-32 of the bytes copied. */
  copyCrc32(src: Uint8Array, dst: Uint8Array): number;
  /**
   * A read-only shared mapping of the first `length` bytes of the file `fd` is
   * open on (the descriptor may be closed afterwards). Reading past the file's
   * end, or a hole when its file system is full, raises SIGBUS: map only files
   * that never shrink while mapped and whose every read page is written.
   */
  map(fd: number, length: number): ArrayBuffer;
  /** Releases a mapping now and detaches its buffer: its views then have length 0. Idempotent. */
  unmap(buffer: ArrayBuffer): void;
}

/** Where the addon is built, from src/ (tsx) and from dist/src/ (compiled). */
const CANDIDATES = ["./native/build/Release/datenlord_native.node", "../../src/native/build/Release/datenlord_native.node"];

/** Why the fast path is not in use, or "loaded". */
export type NativeStatus = "loaded" | "not built" | "failed";

function loadAddon(): { readonly addon: NativeFastPath | undefined; readonly status: NativeStatus } {
  const require = createRequire(import.meta.url);
  const file = CANDIDATES.map((candidate) => new URL(candidate, import.meta.url)).find((url) => existsSync(url));
  if (file === undefined) return { addon: undefined, status: "not built" };
  try {
    const addon = require(fileURLToPath(file)) as NativeFastPath;
    // The check value of CRC-32: an addon that computes anything else is not used.
    if (addon.crc32(Buffer.from("123456789")) !== 0xcbf43926) return { addon: undefined, status: "failed" };
    return { addon, status: "loaded" };
  } catch {
    return { addon: undefined, status: "failed" };
  }
}

const LOADED = loadAddon();

/** The native fast path when it is built and loads, else undefined. */
export const nativeFastPath: NativeFastPath | undefined = LOADED.addon;

/** Whether {@link nativeFastPath} is in use, and if not why (for the bench's environment and the tests' messages). */
export const nativeStatus: NativeStatus = LOADED.status;
