/**
 * The operations of a component still running, so `close()` can wait for them
 * before it releases what they use (clients, tiers).
 */
export class InFlight {
  readonly #ops = new Set<Promise<unknown>>();

  /** Registers `work` until it settles, and returns it unchanged. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#ops.add(work);
    const forget = (): void => void this.#ops.delete(work);
    work.then(forget, forget);
    return work;
  }

  /** Resolves once nothing is running, including work started while waiting. */
  async drain(): Promise<void> {
    while (this.#ops.size > 0) await Promise.allSettled([...this.#ops]);
  }
}
