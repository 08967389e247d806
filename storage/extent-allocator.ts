/** A byte range of a file: [offset, offset + length). */
export interface Extent {
  readonly offset: number;
  readonly length: number;
}

/**
 * First-fit allocation of byte ranges in a region of fixed size, with free
 * neighbours merged on release, so the region can be carved again for blocks of
 * any size. Free ranges are kept sorted by offset; both operations are linear in
 * the number of free ranges (holes), which eviction keeps small.
 *
 * Zero-length requests take no space and always succeed (offset 0).
 */
export class ExtentAllocator {
  readonly size: number;
  /** Free ranges, sorted by offset, never adjacent (adjacent ones are merged). */
  readonly #free: { offset: number; length: number }[];
  #freeBytes: number;

  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`region size must be a non-negative integer; got ${size}`);
    this.size = size;
    this.#free = size === 0 ? [] : [{ offset: 0, length: size }];
    this.#freeBytes = size;
  }

  /** Bytes not allocated (possibly split across several holes). */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** The lowest free range of `length` bytes, now allocated; undefined when no hole is large enough. */
  allocate(length: number): Extent | undefined {
    if (length === 0) return { offset: 0, length: 0 };
    const i = this.#free.findIndex((hole) => hole.length >= length);
    if (i < 0) return undefined;
    const hole = this.#free[i]!;
    const extent = { offset: hole.offset, length };
    if (hole.length === length) this.#free.splice(i, 1);
    else this.#free[i] = { offset: hole.offset + length, length: hole.length - length };
    this.#freeBytes -= length;
    return extent;
  }

  /** Returns an extent {@link allocate} gave out (each exactly once). */
  release(extent: Extent): void {
    if (extent.length === 0) return;
    const end = extent.offset + extent.length;
    // First hole after the extent: it goes just before it.
    let i = this.#free.findIndex((hole) => hole.offset >= end);
    if (i < 0) i = this.#free.length;
    const before = this.#free[i - 1];
    const after = this.#free[i];
    if ((before !== undefined && before.offset + before.length > extent.offset) || end > this.size || (after !== undefined && after.offset < end)) {
      throw new RangeError(`extent [${extent.offset}, ${end}) is not allocated`);
    }
    const joinsBefore = before !== undefined && before.offset + before.length === extent.offset;
    const joinsAfter = after !== undefined && after.offset === end;
    if (joinsBefore && joinsAfter) {
      this.#free[i - 1] = { offset: before.offset, length: before.length + extent.length + after.length };
      this.#free.splice(i, 1);
    } else if (joinsBefore) {
      this.#free[i - 1] = { offset: before.offset, length: before.length + extent.length };
    } else if (joinsAfter) {
      this.#free[i] = { offset: extent.offset, length: extent.length + after.length };
    } else {
      this.#free.splice(i, 0, { offset: extent.offset, length: extent.length });
    }
    this.#freeBytes += extent.length;
  }
}
