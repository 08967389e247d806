/**
 * Reusable buffers for block bytes that pass through a process without being
 * kept: a PUT body on its way into the shared memory file, a GET reply on its
 * way to the socket. On a VM every page a process touches for the first time
 * can cost microseconds (the host hands it back lazily), which for a fresh
 * 1 MiB buffer per request costs more than moving the bytes; a buffer that
 * comes back is already mapped.
 *
 * Buffers are kept per size class (powers of two from {@link MIN_POOLED_BYTES});
 * smaller requests get ordinary buffers. At most `maxPooledBytes` wait in the
 * pool; buffers in use are bounded by whoever holds them. Only buffers this pool
 * made are taken back, each once, so a foreign or repeated give is ignored.
 */
export class BufferPool {
  readonly #maxPooledBytes: number;
  readonly #free = new Map<number, ArrayBuffer[]>();
  /** Every backing store this pool made, free or lent. */
  readonly #made = new WeakSet<ArrayBuffer>();
  /** Backing stores waiting in the pool (guards against a double give). */
  readonly #waiting = new WeakSet<ArrayBuffer>();
  #pooledBytes = 0;

  constructor(maxPooledBytes: number) {
    if (!Number.isSafeInteger(maxPooledBytes) || maxPooledBytes < 0) throw new RangeError(`maxPooledBytes must be a non-negative integer; got ${maxPooledBytes}`);
    this.#maxPooledBytes = maxPooledBytes;
  }

  /** Bytes of the buffers waiting to be reused. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly `length` bytes (contents unspecified); give it back when done. */
  take(length: number): Buffer {
    if (length < MIN_POOLED_BYTES) return Buffer.allocUnsafe(length);
    const size = classOf(length);
    const store = this.#free.get(size)?.pop();
    if (store !== undefined) {
      this.#waiting.delete(store);
      this.#pooledBytes -= size;
      return Buffer.from(store, 0, length);
    }
    const made = new ArrayBuffer(size);
    this.#made.add(made);
    return Buffer.from(made, 0, length);
  }

  /** Takes back a buffer {@link take} gave out; the caller must not use it afterwards. */
  give(buffer: Uint8Array): void {
    const store = buffer.buffer as ArrayBuffer;
    if (!this.#made.has(store) || this.#waiting.has(store)) return;
    if (this.#pooledBytes + store.byteLength > this.#maxPooledBytes) return;
    const list = this.#free.get(store.byteLength) ?? [];
    this.#free.set(store.byteLength, list);
    list.push(store);
    this.#waiting.add(store);
    this.#pooledBytes += store.byteLength;
  }
}

/** Requests below this get plain buffers: small allocations are cheap and come from Node's own slab. */
export const MIN_POOLED_BYTES = 64 * 1024;

function classOf(length: number): number {
  return 2 ** Math.ceil(Math.log2(length));
}
