import type { BlockId } from "./block.js";

/**
 * The directory of a node's shared memory file (src/shared-memory-file.ts):
 * where each block in the file is, so a client on the same host finds and
 * reads a block with two preads and no message to the node. The node writes
 * it (storage/shared-directory-writer.ts); clients only read it.
 *
 * A hash table of {@link SLOT_BYTES}-byte slots after the file header. A
 * block lives in one of the {@link PROBE_SLOTS} slots from its home slot
 * ({@link homeSlot}); the table has PROBE_SLOTS - 1 extra slots at its end so
 * that window never wraps and is read with one pread. A block with no free
 * slot in its window is simply not listed: clients then ask the node (LOCATE).
 *
 * Slot (little-endian): seq u32 | length u32 | block id 16 raw bytes |
 * offset u64 (in the file) | checksum u32 | 28 zero bytes.
 *
 * The seq field is a sequence lock. 0: never used. Odd: free, or being
 * written. Even: the slot lists a block. The node lists a block by writing the
 * slot with its odd seq, then the seq + 1; it unlists one by writing seq + 1
 * (odd) before the block's bytes may be reused. A client reads the slot, then
 * the bytes, then the slot again, and takes the bytes only when both reads of
 * the slot are the same listing; it also verifies their checksum.
 */
export const SLOT_BYTES = 64;
export const PROBE_SLOTS = 8;

/** Home slots per byte of memory tier capacity: one per 32 KiB (blocks are usually larger), within these bounds. */
const BYTES_PER_SLOT = 32 * 1024;
const MIN_SLOTS = 1024;
const MAX_SLOTS = 1 << 20;

/** Home slots of a tier of this capacity: a power of two. */
export function directorySlots(capacityBytes: number): number {
  const wanted = Math.min(MAX_SLOTS, Math.max(MIN_SLOTS, Math.ceil(capacityBytes / BYTES_PER_SLOT)));
  return 2 ** Math.ceil(Math.log2(wanted));
}

/** Bytes of a directory with `slots` home slots (the extra probe slots included). */
export function directoryBytes(slots: number): number {
  return (slots + PROBE_SLOTS - 1) * SLOT_BYTES;
}

/** The first slot of `id`'s window. Ids are random, so their first 32 bits spread evenly. */
export function homeSlot(id: BlockId, slots: number): number {
  return Number.parseInt(id.slice(0, 8), 16) & (slots - 1);
}

/** What a slot lists: a block's place in the file. */
export interface DirectoryListing {
  readonly id: BlockId;
  readonly offset: number;
  readonly length: number;
  readonly checksum: number;
}

/** The largest block a slot can list. */
export const MAX_LISTED_LENGTH = 0xffffffff;

/** A slot's bytes with `seq` in its seq field. */
export function encodeSlot(listing: DirectoryListing, seq: number): Buffer {
  const slot = Buffer.alloc(SLOT_BYTES);
  slot.writeUInt32LE(seq >>> 0, 0);
  slot.writeUInt32LE(listing.length, 4);
  slot.write(listing.id, 8, 16, "hex");
  slot.writeUInt32LE(listing.offset % 2 ** 32, 24);
  slot.writeUInt32LE(Math.floor(listing.offset / 2 ** 32), 28);
  slot.writeUInt32LE(listing.checksum >>> 0, 32);
  return slot;
}

/** A slot's seq field alone, for writing. */
export function encodeSeq(seq: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32LE(seq >>> 0, 0);
  return out;
}

/**
 * The listing of `id` among the slots in `window` (whole slots read from the
 * file), with its slot's index in the window; undefined when no slot there
 * lists it (a slot being written does not).
 */
export function findListing(window: Buffer, id: Buffer): { readonly listing: Omit<DirectoryListing, "id">; readonly slot: number } | undefined {
  for (let slot = 0; (slot + 1) * SLOT_BYTES <= window.length; slot++) {
    const at = slot * SLOT_BYTES;
    const seq = window.readUInt32LE(at);
    if (seq === 0 || seq % 2 === 1 || window.compare(id, 0, 16, at + 8, at + 24) !== 0) continue;
    const offset = window.readUInt32LE(at + 24) + window.readUInt32LE(at + 28) * 2 ** 32;
    return { listing: { offset, length: window.readUInt32LE(at + 4), checksum: window.readUInt32LE(at + 32) }, slot };
  }
  return undefined;
}
