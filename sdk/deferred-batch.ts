/**
 * Items for a peer that can wait (lease releases, touches): sent `max` at a
 * time, once `delayMs` has passed since the first was added, or at once when
 * `max` have gathered. `send` must not reject.
 */
export class DeferredBatch<T> {
  #items: T[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly max: number,
    private readonly send: (items: T[]) => Promise<unknown>,
  ) {}

  add(item: T): void {
    this.#items.push(item);
    if (this.#items.length >= this.max) void this.send(this.take());
    else this.#timer ??= this.#arm();
  }

  /** Up to `max` items, taken to be sent now (or to ride on another message). */
  take(): T[] {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const taken = this.#items.splice(0, this.max);
    if (this.#items.length > 0) this.#timer = this.#arm();
    return taken;
  }

  /** Sends everything waiting, now. */
  async drain(): Promise<void> {
    while (this.#items.length > 0) await this.send(this.take());
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): NodeJS.Timeout {
    return setTimeout(() => void this.send(this.take()), this.delayMs).unref();
  }
}
