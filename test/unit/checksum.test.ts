import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumImplementation, checksumMatches, checksumOf } from "../../src/checksum.js";
import { cpuRunsFoldedCrc, NATIVE_MISSING } from "../helpers/native-fast-path.js";

describe("checksum", () => {
  it("is CRC-32 (IEEE): the check value, and zlib's result on any bytes and offsets", () => {
    expect(checksumOf(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(checksumOf(new Uint8Array(0))).toBe(0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), fc.nat(64), (bytes, cut) => {
      const view = bytes.subarray(Math.min(cut, bytes.length));
      expect(checksumOf(view)).toBe(zlibCrc32(view) >>> 0);
      expect(checksumMatches(view, zlibCrc32(view))).toBe(true);
    }), { numRuns: 500 });
  });

  it("uses this package's folded CRC where the CPU runs it, else @node-rs/crc32's on linux-x64, where its prebuilt binary ships", () => {
    if (cpuRunsFoldedCrc()) expect(checksumImplementation, NATIVE_MISSING).toBe("simd");
    else if (process.platform === "linux" && process.arch === "x64") expect(checksumImplementation).toBe("native");
    else expect(["native", "zlib"]).toContain(checksumImplementation);
  });

  it("is the same function in every implementation: long inputs cross the folded loop's 256-byte steps", () => {
    const big = Buffer.alloc((1 << 20) + 77);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
    for (const length of [255, 256, 257, 511, 512, 4096 + 13, 65536, big.length]) {
      expect(checksumOf(big.subarray(0, length))).toBe(zlibCrc32(big.subarray(0, length)) >>> 0);
      expect(checksumOf(big.subarray(3, length))).toBe(zlibCrc32(big.subarray(3, length)) >>> 0);
    }
  });
});
