import fs from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { cpuRunsFoldedCrc, requireNativeFastPath as addon } from "../helpers/native-fast-path.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await removeDir(dir);
});

async function tempFile(bytes: Uint8Array): Promise<{ path: string; fd: number }> {
  const dir = await makeTempDir();
  dirs.push(dir);
  const path = `${dir}/file`;
  fs.writeFileSync(path, bytes);
  return { path, fd: fs.openSync(path, "r") };
}

describe("native fast path", () => {
  it("runs the folded CRC exactly where the CPU has AVX-512BW and VPCLMULQDQ", () => {
    expect(addon().simd).toBe(cpuRunsFoldedCrc());
  });

  it("crc32 is zlib's CRC-32 on any bytes, offsets and initial values", () => {
    const { crc32 } = addon();
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(70), fc.nat(), (bytes, cut, initial) => {
      const view = bytes.subarray(Math.min(cut, bytes.length));
      expect(crc32(view)).toBe(zlibCrc32(view) >>> 0);
      // zlib answers 0 for an empty view with no memory behind it (its Z_NULL case); continuing over nothing keeps the value.
      expect(crc32(view, initial)).toBe(view.length === 0 ? initial >>> 0 : zlibCrc32(view, initial) >>> 0);
    }), { numRuns: 1000 });
  });

  it("crc32 continues across pieces: crc32(b, crc32(a)) = crc32(a ‖ b), pieces of any size", () => {
    const { crc32 } = addon();
    const whole = Buffer.alloc(300_000);
    for (let i = 0; i < whole.length; i++) whole[i] = (i * 2654435761) >>> 24;
    const expected = zlibCrc32(whole) >>> 0;
    expect(crc32(whole)).toBe(expected);
    fc.assert(fc.property(fc.nat(whole.length), (cut) => {
      expect(crc32(whole.subarray(cut), crc32(whole.subarray(0, cut)))).toBe(expected);
    }), { numRuns: 200 });
  });

  it("copyCrc32 copies exactly and returns the CRC-32 of what it copied", () => {
    const { copyCrc32 } = addon();
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat(63), (bytes, at) => {
      const into = Buffer.alloc(bytes.length + 128, 0xaa);
      const dst = into.subarray(at, at + bytes.length);
      expect(copyCrc32(bytes, dst)).toBe(zlibCrc32(bytes) >>> 0);
      expect(Buffer.compare(dst, bytes)).toBe(0);
      expect(into.subarray(0, at).every((b) => b === 0xaa) && into.subarray(at + bytes.length).every((b) => b === 0xaa)).toBe(true);
    }), { numRuns: 500 });
    const big = Buffer.alloc(4 * 1024 * 1024 + 5);
    for (let i = 0; i < big.length; i++) big[i] = (i * 40503) >>> 8;
    const copy = Buffer.alloc(big.length);
    expect(copyCrc32(big, copy)).toBe(zlibCrc32(big) >>> 0);
    expect(copy.equals(big)).toBe(true);
  });

  it("copyCrc32 refuses what it cannot do: other types, lengths that differ, views that overlap", () => {
    const { copyCrc32 } = addon();
    const shared = Buffer.alloc(1024);
    expect(() => copyCrc32(Buffer.alloc(4), Buffer.alloc(5))).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => copyCrc32(shared.subarray(0, 512), shared.subarray(256, 768))).toThrow(/overlap/);
    expect(() => copyCrc32("abc" as unknown as Uint8Array, Buffer.alloc(3))).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
    expect(() => addon().crc32(new Uint16Array(4) as unknown as Uint8Array)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
  });

  it("maps a file read-only: its bytes, and later writes to it, are seen through the mapping", async () => {
    const { map, unmap } = addon();
    const bytes = Buffer.alloc(3 * 4096 + 100);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const { path, fd } = await tempFile(bytes);
    const mapped = new Uint8Array(map(fd, bytes.length));
    fs.closeSync(fd);
    expect(Buffer.compare(mapped, bytes)).toBe(0);
    const writer = fs.openSync(path, "r+");
    fs.writeSync(writer, Buffer.from("changed"), 0, 7, 5000);
    fs.closeSync(writer);
    expect(Buffer.from(mapped.subarray(5000, 5007)).toString()).toBe("changed");
    unmap(mapped.buffer);
  });

  it("unmap releases at once and detaches: views read as empty, a second unmap does nothing", async () => {
    const { map, unmap } = addon();
    const { fd } = await tempFile(Buffer.alloc(8192, 7));
    const buffer = map(fd, 8192);
    fs.closeSync(fd);
    const view = new Uint8Array(buffer);
    expect(view[100]).toBe(7);
    unmap(buffer);
    expect(buffer.byteLength).toBe(0);
    expect(view.length).toBe(0);
    expect(view[100]).toBeUndefined();
    expect(() => unmap(buffer)).not.toThrow();
    expect(() => unmap(new ArrayBuffer(8))).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
  });

  it("refuses a bad descriptor or length with the system's reason", () => {
    const { map } = addon();
    expect(() => map(-1, 4096)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(() => map(0x7fffff, 4096)).toThrow(expect.objectContaining({ code: "ERR_NATIVE_MAP", message: expect.stringMatching(/bad file descriptor/i) }));
    expect(() => map(0, 0)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
  });
});
