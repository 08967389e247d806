import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumImplementation, checksumMatches, checksumOf } from "../../src/checksum.js";

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

  it("uses the native implementation on linux-x64, where its prebuilt binary ships", () => {
    if (process.platform === "linux" && process.arch === "x64") expect(checksumImplementation).toBe("native");
    else expect(["native", "zlib"]).toContain(checksumImplementation);
  });
});
