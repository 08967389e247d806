import { setImmediate as nextTurn } from "node:timers/promises";
import type { MetadataEntry } from "../metadata/metadata-store.js";
import { firstHolder, isBlockOf, type BlockRead } from "./block-reader.js";
import type { CoreDeps } from "./core.js";

/** A block copied before the lookup answered, and the hint it was the block of. */
export interface ReadAhead {
  readonly guess: MetadataEntry;
  readonly read: BlockRead;
}

/**
 * Copies the block of `guess` (what the location hints expect the query to
 * resolve to) while etcd answers the lookup already sent for the query, so
 * that the copy and etcd's work overlap instead of taking turns. The caller
 * uses the copy only when the answer names the same block (loadPrefix), so
 * what a load returns is decided by the lookup as before; a wrong guess costs
 * one copy.
 *
 * Only a block its first holder can hand over at once (a same-host node's
 * shared memory file, `getNow`) is read ahead: one copy, no request, nothing
 * to cancel. It waits two event-loop turns first: the lookup joins the next
 * transaction on the first (EtcdRangeBatcher), and node:http2 writes that
 * transaction out on a native immediate before the second, so the copy runs
 * while the request is at etcd rather than before it leaves.
 *
 * Undefined when there is no guess, the guessed block does not fit `into`, no
 * holder can hand it over, or the copy fails verification; the lookup then
 * goes on as if nothing had been tried.
 */
export async function readAhead(deps: CoreDeps, guess: MetadataEntry | undefined, into: Uint8Array | undefined): Promise<ReadAhead | undefined> {
  if (guess === undefined || (into !== undefined && into.length < guess.descriptor.size)) return undefined;
  const source = firstHolder(deps, guess.key, guess.descriptor);
  if (source?.getNow === undefined) return undefined;
  await nextTurn();
  await nextTurn();
  try {
    const block = source.getNow(guess.descriptor.blockId, into);
    if (block === undefined || !isBlockOf(block.data, block.checksum, guess.descriptor)) return undefined;
    return { guess, read: { data: block.data, fromHolder: true } };
  } catch {
    // The read the lookup leads to tries this source again, and reports what fails.
    return undefined;
  }
}

/** Whether the lookup's answer names the block a read-ahead copied. */
export function confirms(answer: MetadataEntry, ahead: ReadAhead): boolean {
  const [a, b] = [answer.descriptor, ahead.guess.descriptor];
  return a.blockId === b.blockId && a.size === b.size && a.checksum >>> 0 === b.checksum >>> 0;
}
