import fs from "node:fs";
import { crc32 as zlibCrc32 } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { MappedReader, openSharedFileReader, PreadReader, type SharedFileReader } from "../../sdk/shared-file-reader.js";
import type { NativeFastPath } from "../../src/native.js";
import { requireNativeFastPath as native } from "../helpers/native-fast-path.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function file(bytes: Uint8Array): Promise<number> {
  const dir = await makeTempDir();
  cleanups.push(() => removeDir(dir));
  fs.writeFileSync(`${dir}/f`, bytes);
  const fd = fs.openSync(`${dir}/f`, "r");
  cleanups.push(() => fs.closeSync(fd));
  return fd;
}

const CONTENT = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));

const READERS: Record<SharedFileReader["kind"], (fd: number) => SharedFileReader> = {
  pread: (fd) => new PreadReader(fd),
  mapped: (fd) => new MappedReader(native(), fd, CONTENT.length),
};

describe.each(["pread", "mapped"] as const)("%s reader of a shared file", (kind) => {
  it("reads bytes at a position, and checksums what it read", async () => {
    const reader = READERS[kind](await file(CONTENT));
    cleanups.push(() => reader.close());
    expect(reader.kind).toBe(kind);
    const into = Buffer.alloc(40_000);
    reader.read(into, 1234);
    expect(into.equals(CONTENT.subarray(1234, 41_234))).toBe(true);
    const checked = Buffer.alloc(65_537);
    expect(reader.readChecksummed(checked, 3)).toBe(zlibCrc32(CONTENT.subarray(3, 65_540)) >>> 0);
    expect(checked.equals(CONTENT.subarray(3, 65_540))).toBe(true);
    expect(reader.readChecksummed(Buffer.alloc(0), 10)).toBe(0);
  });

  it("refuses a read past the file's end with a RangeError", async () => {
    const reader = READERS[kind](await file(CONTENT));
    cleanups.push(() => reader.close());
    expect(() => reader.read(Buffer.alloc(100), CONTENT.length - 99)).toThrow(RangeError);
    expect(() => reader.readChecksummed(Buffer.alloc(10), CONTENT.length)).toThrow(RangeError);
  });
});

describe("MappedReader", () => {
  it("refuses every read once closed (the mapping is gone), and closes once", async () => {
    const reader = new MappedReader(native(), await file(CONTENT), CONTENT.length);
    reader.read(Buffer.alloc(8), 0);
    reader.close();
    expect(() => reader.read(Buffer.alloc(8), 0)).toThrow(/outside its 0 mapped bytes/);
    expect(() => reader.readChecksummed(Buffer.alloc(8), 0)).toThrow(RangeError);
    expect(() => reader.close()).not.toThrow();
  });

  it("refuses positions that are not whole, non-negative numbers", async () => {
    const reader = new MappedReader(native(), await file(CONTENT), CONTENT.length);
    cleanups.push(() => reader.close());
    for (const position of [-1, 0.5, Number.NaN, 2 ** 60]) expect(() => reader.read(Buffer.alloc(1), position)).toThrow(RangeError);
  });
});

describe("openSharedFileReader", () => {
  it("maps the file when the native fast path is built", async () => {
    const reader = openSharedFileReader(await file(CONTENT), native());
    cleanups.push(() => reader.close());
    expect(reader.kind).toBe("mapped");
  });

  it("reads with pread without the native fast path, or when the file will not map", async () => {
    const fd = await file(CONTENT);
    expect(openSharedFileReader(fd, undefined).kind).toBe("pread");
    const refusing: NativeFastPath = { ...native(), map: () => { throw new Error("ENODEV"); } };
    const reader = openSharedFileReader(fd, refusing);
    expect(reader.kind).toBe("pread");
    const into = Buffer.alloc(16);
    reader.read(into, 100);
    expect(into.equals(CONTENT.subarray(100, 116))).toBe(true);
  });
});
