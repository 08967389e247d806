/**
 * Sequence state <-> bytes. node-llama-cpp saves and loads a sequence's state
 * only through files, so bytes go through a private temp directory; every file
 * is removed as soon as it has been read or loaded.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LlamaContextSequence } from "node-llama-cpp";

export class StateFiles implements AsyncDisposable {
  readonly #dir: string;
  #next = 0;

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async create(parent = tmpdir()): Promise<StateFiles> {
    return new StateFiles(await mkdtemp(join(parent, "datenlord-llama-state-")));
  }

  /** The sequence's whole state (its tokens and their KV cells) as bytes the caller owns. */
  async save(sequence: LlamaContextSequence): Promise<Buffer> {
    const file = this.#file();
    try {
      await sequence.saveStateToFile(file);
      return await readFile(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  /**
   * Replaces the sequence's state with `bytes`. Only bytes saved from the same
   * model and settings may be loaded (llama.cpp cannot tell): the namespace
   * guarantees that.
   */
  async load(sequence: LlamaContextSequence, bytes: Uint8Array): Promise<void> {
    const file = this.#file();
    try {
      await writeFile(file, bytes);
      await sequence.loadStateFromFile(file, { acceptRisk: true });
    } finally {
      await rm(file, { force: true });
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await rm(this.#dir, { recursive: true, force: true });
  }

  #file(): string {
    return join(this.#dir, `state-${this.#next++}.bin`);
  }
}
