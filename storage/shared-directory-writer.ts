import type { BlockId } from "../src/block.js";
import { writeFullySync } from "../src/positional-io.js";
import { encodeSeq, encodeSlot, homeSlot, MAX_LISTED_LENGTH, PROBE_SLOTS, SLOT_BYTES, type DirectoryListing } from "../src/shared-directory.js";

/**
 * The node's side of the shared file's directory (src/shared-directory.ts):
 * lists and unlists blocks, keeping a copy of every slot's seq so it never
 * reads the file. Writes are synchronous: a slot is two small pwrites on a
 * memory file system, and the order of writes is what makes a client's read
 * safe, so an unlisting is in the file before the call returns (and before the
 * block's extent can be reused).
 */
export class SharedDirectoryWriter {
  readonly #fd: number;
  readonly #start: number;
  readonly #slots: number;
  /** Each slot's seq as last written. */
  readonly #seqs: Uint32Array;
  /** Which slot lists each listed block. */
  readonly #slotOf = new Map<BlockId, number>();

  /** `start`: the directory's offset in the file; `slots`: its home slots (a power of two). */
  constructor(fd: number, start: number, slots: number) {
    this.#fd = fd;
    this.#start = start;
    this.#slots = slots;
    this.#seqs = new Uint32Array(slots + PROBE_SLOTS - 1);
  }

  /** Blocks listed now. */
  get listed(): number {
    return this.#slotOf.size;
  }

  /**
   * Lists a block whose bytes are in place (replacing an older listing of its
   * id). False when its window has no free slot, it is too long for a slot, or
   * the slot cannot be written: clients then find it through LOCATE.
   */
  list(listing: DirectoryListing): boolean {
    this.unlist(listing.id);
    if (listing.length > MAX_LISTED_LENGTH) return false;
    const home = homeSlot(listing.id, this.#slots);
    for (let slot = home; slot < home + PROBE_SLOTS; slot++) {
      const seq = this.#seqs[slot]!;
      if (seq !== 0 && seq % 2 === 0) continue;
      // Written while the seq is odd (a never-used slot first becomes 1), then published by the even seq.
      const odd = seq === 0 || seq === 0xffffffff ? 1 : seq;
      try {
        this.#write(slot, encodeSlot(listing, odd));
        this.#write(slot, encodeSeq(odd + 1));
      } catch {
        // A full file system cannot give a never-written page of the directory: the block goes unlisted.
        this.#seqs[slot] = odd;
        return false;
      }
      this.#seqs[slot] = odd + 1;
      this.#slotOf.set(listing.id, slot);
      return true;
    }
    return false;
  }

  /** Unlists `id` (no-op when it is not listed): from now on no client takes its bytes from the file. */
  unlist(id: BlockId): void {
    const slot = this.#slotOf.get(id);
    if (slot === undefined) return;
    this.#slotOf.delete(id);
    const odd = (this.#seqs[slot]! + 1) >>> 0 || 1;
    this.#write(slot, encodeSeq(odd));
    this.#seqs[slot] = odd;
  }

  #write(slot: number, bytes: Buffer): void {
    writeFullySync(this.#fd, bytes, this.#start + slot * SLOT_BYTES);
  }
}
