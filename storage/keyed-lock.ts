/**
 * FIFO mutual exclusion per key, in-process. Waiters queue behind the current
 * holder; `tryAcquire` takes a free key synchronously, which lets a caller pick
 * and lock a set of keys in one tick with nothing slipping in between.
 */
export class KeyedLock {
  /** Per held key, the promise that settles when its last queued holder releases. */
  readonly #tails = new Map<string, Promise<void>>();

  /** True while `key` is held or has waiters. */
  isHeld(key: string): boolean {
    return this.#tails.has(key);
  }

  /** Waits for `key` and returns its release function (call it exactly once). */
  async acquire(key: string): Promise<() => void> {
    const previous = this.#tails.get(key);
    const release = this.#enqueue(key, previous);
    if (previous !== undefined) await previous;
    return release;
  }

  /** Takes `key` now if nobody holds it; otherwise undefined. */
  tryAcquire(key: string): (() => void) | undefined {
    return this.isHeld(key) ? undefined : this.#enqueue(key, undefined);
  }

  #enqueue(key: string, previous: Promise<void> | undefined): () => void {
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = previous === undefined ? mine : previous.then(() => mine);
    this.#tails.set(key, tail);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      done();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
  }
}
