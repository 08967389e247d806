/**
 * Wakes everyone waiting for "something changed" (a lock released, a reservation
 * returned). Waiters re-check their own condition after waking, so a spurious
 * wake-up is harmless; subscribing and checking happen in the same tick, so a
 * change can never fall between them.
 */
export class ChangeSignal {
  #waiters: (() => void)[] = [];

  /** Resolves at the next {@link notify}, or when `signal` aborts. */
  next(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      this.#waiters.push(wake);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
