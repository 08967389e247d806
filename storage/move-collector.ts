/**
 * Lets an operation wait for the moves its memory evictions set off. The memory
 * tier reports evictions synchronously inside `put`, so every move started while
 * `run(work)` awaits `work` belongs to it. With concurrent operations a move may
 * be counted in several of them; each then waits for it, which is harmless.
 */
export class MoveCollector {
  readonly #open = new Set<Promise<void>[]>();

  /** Records a move that just started (it must never reject). */
  started(move: Promise<void>): void {
    for (const moves of this.#open) moves.push(move);
  }

  /** Runs `work`, then waits for the moves started meanwhile. */
  async run(work: () => Promise<void>): Promise<void> {
    const moves: Promise<void>[] = [];
    this.#open.add(moves);
    try {
      await work();
    } finally {
      this.#open.delete(moves);
    }
    await Promise.all(moves);
  }
}
