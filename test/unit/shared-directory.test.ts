import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { directoryBytes, directorySlots, encodeSlot, findListing, homeSlot, PROBE_SLOTS, SLOT_BYTES, type DirectoryListing } from "../../src/shared-directory.js";
import { SharedDirectoryWriter } from "../../storage/shared-directory-writer.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const SLOTS = 1024;
const opened: { fd: number; dir: string }[] = [];

afterEach(async () => {
  for (const { fd, dir } of opened.splice(0)) {
    fs.closeSync(fd);
    await removeDir(dir);
  }
});

/** A zeroed file holding one directory at offset 0, and a writer for it. */
async function directoryFile(): Promise<{ fd: number; writer: SharedDirectoryWriter; window: (id: string) => Buffer; seqOf: (slot: number) => number }> {
  const dir = await makeTempDir();
  const fd = fs.openSync(path.join(dir, "directory"), "w+");
  opened.push({ fd, dir });
  fs.ftruncateSync(fd, directoryBytes(SLOTS));
  const read = (at: number, length: number): Buffer => {
    const out = Buffer.alloc(length);
    fs.readSync(fd, out, 0, length, at);
    return out;
  };
  return {
    fd,
    writer: new SharedDirectoryWriter(fd, 0, SLOTS),
    window: (id) => read(homeSlot(id, SLOTS) * SLOT_BYTES, PROBE_SLOTS * SLOT_BYTES),
    seqOf: (slot) => read(slot * SLOT_BYTES, 4).readUInt32LE(0),
  };
}

/** A block id whose home slot is `home`. */
function idAt(home: number): string {
  return home.toString(16).padStart(8, "0") + randomBytes(12).toString("hex");
}

function listing(id: string, offset = 4096, length = 100): DirectoryListing {
  return { id, offset, length, checksum: 0xdeadbeef };
}

describe("shared file directory", () => {
  it("sizes the table by capacity, as a power of two within bounds", () => {
    expect(directorySlots(1)).toBe(1024);
    expect(directorySlots(768 * 1024 * 1024)).toBe(32768);
    expect(directorySlots(2 ** 45)).toBe(2 ** 20);
    for (const capacity of [1, 5e6, 123_456_789, 2 ** 40]) expect(Math.log2(directorySlots(capacity)) % 1).toBe(0);
  });

  it("finds a listing by id in a window, offsets past 4 GiB included; skips free, half-written and other slots", () => {
    const id = idAt(5);
    const other = idAt(5);
    const window = Buffer.concat([
      encodeSlot(listing(other), 2), // another block
      encodeSlot(listing(id), 3), // odd: being written
      encodeSlot(listing(id), 0), // never used
      encodeSlot(listing(id, 2 ** 40 + 12345, 0xfffffff0), 6),
    ]);
    expect(findListing(window, Buffer.from(id, "hex"))).toEqual({ slot: 3, listing: { offset: 2 ** 40 + 12345, length: 0xfffffff0, checksum: 0xdeadbeef } });
    expect(findListing(window.subarray(0, 3 * SLOT_BYTES), Buffer.from(id, "hex"))).toBeUndefined();
  });

  it("lists a block with an even seq, unlists it with an odd one, and lists the next in the freed slot", async () => {
    const { writer, window, seqOf } = await directoryFile();
    const a = idAt(7);
    expect(writer.list(listing(a, 8192, 10))).toBe(true);
    expect(seqOf(7)).toBe(2);
    expect(findListing(window(a), Buffer.from(a, "hex"))?.listing).toEqual({ offset: 8192, length: 10, checksum: 0xdeadbeef });
    writer.unlist(a);
    expect(seqOf(7)).toBe(3);
    expect(findListing(window(a), Buffer.from(a, "hex"))).toBeUndefined();
    const b = idAt(7);
    expect(writer.list(listing(b))).toBe(true);
    expect(seqOf(7)).toBe(4);
    expect(writer.listed).toBe(1);
  });

  it("keeps one listing per id: listing it again replaces the old one", async () => {
    const { writer, window } = await directoryFile();
    const a = idAt(100);
    writer.list(listing(a, 4096));
    writer.list(listing(a, 65536));
    const raw = window(a);
    const found = findListing(raw, Buffer.from(a, "hex"))!;
    expect(found.listing.offset).toBe(65536);
    expect(findListing(raw.subarray((found.slot + 1) * SLOT_BYTES), Buffer.from(a, "hex"))).toBeUndefined();
    expect(findListing(raw.subarray(0, found.slot * SLOT_BYTES), Buffer.from(a, "hex"))).toBeUndefined();
    expect(writer.listed).toBe(1);
  });

  it("leaves a block unlisted when its window is full, or it is too long for a slot; the last home slot's window fits the table", async () => {
    const { writer, window } = await directoryFile();
    const crowd = Array.from({ length: PROBE_SLOTS }, () => idAt(SLOTS - 1));
    for (const id of crowd) expect(writer.list(listing(id))).toBe(true);
    const late = idAt(SLOTS - 1);
    expect(writer.list(listing(late))).toBe(false);
    for (const id of crowd) expect(findListing(window(id), Buffer.from(id, "hex"))).toBeDefined();
    writer.unlist(crowd[3]!);
    expect(writer.list(listing(late))).toBe(true);
    expect(writer.list(listing(idAt(9), 0, 2 ** 32))).toBe(false);
    expect(writer.listed).toBe(PROBE_SLOTS);
  });
});
