/**
 * A fixed-capacity FIFO: pushing past `capacity` drops the oldest entry, so what
 * a long-running node keeps for its dashboard never grows.
 */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity <= 0) throw new RangeError(`ring buffer capacity must be a positive integer; got ${capacity}`);
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** The most recent entry, or undefined when empty. */
  last(): T | undefined {
    return this.#size === 0 ? undefined : this.#items[(this.#next - 1 + this.capacity) % this.capacity];
  }

  /** Entries oldest first. */
  toArray(): T[] {
    const start = (this.#next - this.#size + this.capacity) % this.capacity;
    const out: T[] = [];
    for (let i = 0; i < this.#size; i++) out.push(this.#items[(start + i) % this.capacity] as T);
    return out;
  }
}
