/**
 * Collects what callers ask for during one turn of the event loop, or while
 * `maxInFlight` sends are out (until one comes back), and hands it to `send`
 * together, cut into batches by `cut` (default: the whole queue as one). Under
 * steady concurrent load a batch forms per round trip instead of per
 * event-loop turn; a lone request waits one setImmediate. `send` must settle
 * every item of its batch and never reject.
 */
export class CoalescingQueue<W> {
  #queue: W[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(
    private readonly send: (batch: W[]) => Promise<void>,
    private readonly maxInFlight: number,
    private readonly cut: (queue: W[]) => W[][] = (queue) => [queue],
  ) {}

  push(item: W): void {
    this.#queue.push(item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#inFlight >= this.maxInFlight || this.#queue.length === 0) return; // the next send to come back flushes
    const batches = this.cut(this.#queue);
    const sending = batches.slice(0, this.maxInFlight - this.#inFlight);
    this.#queue = batches.slice(sending.length).flat();
    for (const batch of sending) void this.#run(batch);
  }

  async #run(batch: W[]): Promise<void> {
    this.#inFlight++;
    try {
      await this.send(batch);
    } finally {
      this.#inFlight--;
      if (this.#queue.length > 0) this.#flush();
    }
  }
}
