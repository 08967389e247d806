import fs, { existsSync, promises as fsp } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { newBlockId, type BlockId } from "../../src/block.js";
import { readFullySync } from "../../src/positional-io.js";
import { findListing, homeSlot, PROBE_SLOTS, SLOT_BYTES } from "../../src/shared-directory.js";
import { SHARED_HEADER_BYTES, sharedHeaderSlots } from "../../src/shared-memory-file.js";
import { SharedMemoryTier } from "../../storage/shared-memory-tier.js";
import { DirectoryReader, type DirectoryFile } from "../../sdk/directory-reader.js";
import { MappedReader, PreadReader, type SharedFileReader } from "../../sdk/shared-file-reader.js";
import { requireNativeFastPath } from "../helpers/native-fast-path.js";
import { sampleBlock } from "../contract/tier-contract.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";

const opened: { tier: SharedMemoryTier; directory: string; fd: number; file: SharedFileReader }[] = [];

afterEach(async () => {
  for (const { tier, directory, fd, file } of opened.splice(0)) {
    file.close();
    fs.closeSync(fd);
    await tier.close();
    await removeDir(directory);
  }
});

/** How the client reads the file: both readers the SDK has (mapped needs the native fast path, and fails without it). */
const FILE_READERS: Record<SharedFileReader["kind"], (fd: number) => SharedFileReader> = {
  pread: (fd) => new PreadReader(fd),
  mapped: (fd) => new MappedReader(requireNativeFastPath(), fd, fs.fstatSync(fd).size),
};

/**
 * A node's tier and a client's reader of its file. `beforeNextRead` runs just
 * before the reader's next read of `length` bytes: what another process (the
 * node) might do between the reader's reads.
 */
async function setup(kind: SharedFileReader["kind"], capacityBytes = 1000): Promise<{ tier: SharedMemoryTier; reader: DirectoryReader; fd: number; beforeRead: (length: number, action: () => void) => void }> {
  const directory = existsSync("/dev/shm") ? await fsp.mkdtemp("/dev/shm/datenlord-test-") : await makeTempDir();
  const tier = await SharedMemoryTier.open({ capacityBytes, directory });
  const fd = fs.openSync(tier.file.path, "r+");
  const file = FILE_READERS[kind](fd);
  opened.push({ tier, directory, fd, file });
  const header = Buffer.alloc(64);
  readFullySync(fd, header, 0);
  let pending: { length: number; action: () => void } | undefined;
  const before = (length: number): void => {
    if (pending !== undefined && pending.length === length) {
      const { action } = pending;
      pending = undefined;
      action();
    }
  };
  const hooked: DirectoryFile = {
    read: (bytes, position) => (before(bytes.length), file.read(bytes, position)),
    readChecksummed: (bytes, position) => (before(bytes.length), file.readChecksummed(bytes, position)),
  };
  return { tier, reader: new DirectoryReader(hooked, sharedHeaderSlots(header), 4 * 1024 * 1024), fd, beforeRead: (length, action) => void (pending = { length, action }) };
}

/** The file offset of `id`'s bytes, from the directory. */
function offsetOf(fd: number, slots: number, id: BlockId): number {
  const window = Buffer.alloc(PROBE_SLOTS * SLOT_BYTES);
  readFullySync(fd, window, SHARED_HEADER_BYTES + homeSlot(id, slots) * SLOT_BYTES);
  return findListing(window, Buffer.from(id, "hex"))!.listing.offset;
}

function slotsOf(fd: number): number {
  const header = Buffer.alloc(64);
  readFullySync(fd, header, 0);
  return sharedHeaderSlots(header);
}

describe.each(["pread", "mapped"] as const)("DirectoryReader over %s reads", (kind) => {
  it("reads a listed block's bytes into the caller's buffer, or a new one when it is too small", async () => {
    const { tier, reader } = await setup(kind);
    const id = newBlockId();
    const block = sampleBlock(300);
    await tier.put(id, block);
    const into = Buffer.alloc(512);
    const read = reader.read(id, into);
    expect(read).not.toBe("ask");
    const { data, checksum } = (read as { block: { data: Uint8Array; checksum: number } }).block;
    expect(data.buffer).toBe(into.buffer);
    expect(Buffer.compare(data, Buffer.from(block.data))).toBe(0);
    expect(checksum).toBe(block.checksum);
    const small = reader.read(id, Buffer.alloc(10));
    expect(Buffer.compare((small as { block: { data: Uint8Array } }).block.data, Buffer.from(block.data))).toBe(0);
  });

  it("asks the node for a block not listed: never stored, deleted, or larger than it reads itself", async () => {
    const { tier, reader } = await setup(kind, 8 * 1024 * 1024);
    const [gone, big] = [newBlockId(), newBlockId()];
    await tier.put(gone, sampleBlock(100));
    await tier.delete(gone);
    await tier.put(big, sampleBlock(4 * 1024 * 1024 + 1));
    expect(reader.read(newBlockId(), undefined)).toBe("ask");
    expect(reader.read(gone, undefined)).toBe("ask");
    expect(reader.read(big, undefined)).toBe("ask");
  });

  it("never takes bytes whose place the node reused while they were read (asks the node, not even a checksum failure)", async () => {
    const { tier, reader, fd, beforeRead } = await setup(kind, 300);
    const id = newBlockId();
    await tier.put(id, sampleBlock(300));
    const offset = offsetOf(fd, slotsOf(fd), id);
    // Between the reader's look at the directory and its read of the bytes, the node drops the block
    // (a delete unlists it at once, before its place is freed) and another block's bytes land there.
    beforeRead(300, () => {
      void tier.delete(id);
      fs.writeSync(fd, Buffer.alloc(300, 0x77), 0, 300, offset);
    });
    expect(reader.read(id, undefined)).toBe("ask");
  });

  it("reports damaged bytes under a listing that did not change", async () => {
    const { tier, reader, fd } = await setup(kind);
    const id = newBlockId();
    await tier.put(id, sampleBlock(100));
    fs.writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, offsetOf(fd, slotsOf(fd), id));
    expect(reader.read(id, undefined)).toBe("damaged");
  });
});
