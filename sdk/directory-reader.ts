import type { Block, BlockId } from "../src/block.js";
import { findListing, homeSlot, PROBE_SLOTS, SLOT_BYTES } from "../src/shared-directory.js";
import { SHARED_HEADER_BYTES } from "../src/shared-memory-file.js";
import type { SharedFileReader } from "./shared-file-reader.js";

/** What a directory read needs of the file: reads on the calling thread, one of them checksummed. */
export type DirectoryFile = Pick<SharedFileReader, "read" | "readChecksummed">;

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
 * system a read is a memory copy, and nothing else runs between the reads.
 */
export class DirectoryReader {
  readonly #file: DirectoryFile;
  readonly #slots: number;
  readonly #maxLength: number;
  readonly #window = Buffer.alloc(PROBE_SLOTS * SLOT_BYTES);
  readonly #recheck = Buffer.alloc(SLOT_BYTES);

  /** `slots`: the directory's home slots (from the file header); blocks over `maxLength` bytes are left to the node. */
  constructor(file: DirectoryFile, slots: number, maxLength: number) {
    this.#file = file;
    this.#slots = slots;
    this.#maxLength = maxLength;
  }

  /** Block `id`, read into `into` when it is large enough (else into a new buffer). */
  read(id: BlockId, into: Uint8Array | undefined): ListedRead {
    const windowAt = SHARED_HEADER_BYTES + homeSlot(id, this.#slots) * SLOT_BYTES;
    this.#file.read(this.#window, windowAt);
    const found = findListing(this.#window, Buffer.from(id, "hex"));
    if (found === undefined || found.listing.length > this.#maxLength) return "ask";
    const { listing, slot } = found;
    const data = into !== undefined && into.length >= listing.length ? into.subarray(0, listing.length) : Buffer.allocUnsafe(listing.length);
    const checksum = this.#file.readChecksummed(data, listing.offset);
    this.#file.read(this.#recheck, windowAt + slot * SLOT_BYTES);
    if (!this.#recheck.equals(this.#window.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES))) return "ask";
    if (checksum !== listing.checksum >>> 0) return "damaged";
    return { block: { data, checksum: listing.checksum } };
  }
}
