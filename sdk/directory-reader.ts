import type { Block, BlockId } from "../src/block.js";
import { checksumMatches } from "../src/checksum.js";
import { findListing, homeSlot, PROBE_SLOTS, SLOT_BYTES } from "../src/shared-directory.js";
import { SHARED_HEADER_BYTES } from "../src/shared-memory-file.js";

/** Reads exactly `bytes.length` bytes of the shared file at `position`, on the calling thread; throws on failure. */
export type PositionalRead = (bytes: Uint8Array, position: number) => void;

/** What a directory read found. */
export type ListedRead =
  /** The block's bytes, in place and verified. */
  | { readonly block: Block }
  /** Not listed, too large, or changed while read: ask the node. */
  | "ask"
  /** Listed and unchanged, but the bytes do not match their checksum: the file's copy is damaged. */
  | "damaged";

/**
 * A client's side of a shared file's directory (src/shared-directory.ts):
 * reads the slots where a block can be listed, then its bytes, then its slot
 * again, and takes the bytes only when the slot is unchanged (the node unlists
 * a block before its place can be reused, so a changed slot means they may be
 * another block's) and they match the checksum. Synchronous: on a memory file
 * system a pread is a memory copy, and nothing else runs between the reads.
 */
export class DirectoryReader {
  readonly #read: PositionalRead;
  readonly #slots: number;
  readonly #maxLength: number;
  readonly #window = Buffer.alloc(PROBE_SLOTS * SLOT_BYTES);
  readonly #recheck = Buffer.alloc(SLOT_BYTES);

  /** `slots`: the directory's home slots (from the file header); blocks over `maxLength` bytes are left to the node. */
  constructor(read: PositionalRead, slots: number, maxLength: number) {
    this.#read = read;
    this.#slots = slots;
    this.#maxLength = maxLength;
  }

  /** Block `id`, read into `into` when it is large enough (else into a new buffer). */
  read(id: BlockId, into: Uint8Array | undefined): ListedRead {
    const windowAt = SHARED_HEADER_BYTES + homeSlot(id, this.#slots) * SLOT_BYTES;
    this.#read(this.#window, windowAt);
    const found = findListing(this.#window, Buffer.from(id, "hex"));
    if (found === undefined || found.listing.length > this.#maxLength) return "ask";
    const { listing, slot } = found;
    const data = into !== undefined && into.length >= listing.length ? into.subarray(0, listing.length) : Buffer.allocUnsafe(listing.length);
    this.#read(data, listing.offset);
    this.#read(this.#recheck, windowAt + slot * SLOT_BYTES);
    if (!this.#recheck.equals(this.#window.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES))) return "ask";
    if (!checksumMatches(data, listing.checksum)) return "damaged";
    return { block: { data, checksum: listing.checksum } };
  }
}
