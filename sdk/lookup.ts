import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { CacheKey, EncodedKey } from "../src/keys.js";
import { compareBytes } from "../metadata/bytes.js";
import type { MetadataEntry } from "../metadata/metadata-store.js";
import { readBlock } from "./block-reader.js";
import type { CoreDeps } from "./core.js";
import type { LocationHints } from "./location-hints.js";
import { asBuffer, matchedPrefixOf } from "./matched-prefix.js";
import { confirms, readAhead } from "./read-ahead.js";
import type { SdkMetrics } from "./sdk-metrics.js";
import type { LoadHit, PrefixMatch } from "./types.js";

/**
 * The read path: resolve the deepest stored prefix in metadata (range scans,
 * see DESIGN.md), then fetch its block. With location hints (cluster mode) the
 * block the hints expect is copied while metadata answers, and used only when
 * the answer names it (read-ahead.ts). A plain miss is null; failures throw
 * typed errors and the client decides whether they degrade to a miss.
 */
export async function loadPrefix<Q extends CacheKey>(
  deps: CoreDeps, metrics: SdkMetrics, query: Q, key: EncodedKey, into?: Uint8Array,
): Promise<LoadHit<Q> | null> {
  const guess = await deps.hints?.guess(key);
  const lookup = lookUp(deps, key, guess);
  // Its failure is thrown by the await below, after the read-ahead: not an unhandled rejection meanwhile.
  lookup.catch(() => undefined);
  const ahead = await readAhead(deps, guess, into);
  const entry = await lookup;
  const early = ahead !== undefined && entry !== undefined && confirms(entry, ahead) ? ahead.read : undefined;
  if (ahead !== undefined) metrics.recordReadAhead(early !== undefined);
  noteAnswer(deps.hints, entry, guess);
  if (entry === undefined) return null;
  if (into !== undefined && into.length < entry.descriptor.size) throw tooSmall(into, entry.descriptor.size);
  const read = early ?? (await readBlock(deps, entry.key, entry.descriptor, into));
  metrics.recordPrefix(entry.key.kind, entry.key.bytes.length);
  if (!read.fromHolder) metrics.recordS3Fallback();
  return { matchedPrefix: matchedPrefixOf(query, entry.key), data: asBuffer(read.data) };
}

/** The deepest stored prefix and its size, from metadata alone. */
export async function findPrefix<Q extends CacheKey>(deps: CoreDeps, query: Q, key: EncodedKey): Promise<PrefixMatch<Q> | null> {
  const entry = await deps.metadata.longestPrefix(deps.namespace, key);
  if (entry === undefined) return null;
  return { matchedPrefix: matchedPrefixOf(query, entry.key), size: entry.descriptor.size };
}

/**
 * The deepest stored prefix of `key`. When the hints expect the query itself
 * (a load of a stored key), a point read of it is the whole answer if the key
 * is there: one read of one key, where a range makes etcd read and sort every
 * key it spans (README, "Read-ahead from location hints, and exact keys by
 * point read"). Only its absence costs the range scan after it.
 */
async function lookUp(deps: CoreDeps, key: EncodedKey, guess: MetadataEntry | undefined): Promise<MetadataEntry | undefined> {
  const exact = guess !== undefined && guess.key.kind === key.kind && compareBytes(guess.key.bytes, key.bytes) === 0;
  return (exact ? await deps.metadata.get(deps.namespace, key) : undefined) ?? deps.metadata.longestPrefix(deps.namespace, key);
}

/** Keeps the hints in step with an answer: it is remembered; a guess whose key the answer ruled out is dropped. */
function noteAnswer(hints: LocationHints | undefined, answer: MetadataEntry | undefined, guess: MetadataEntry | undefined): void {
  if (hints === undefined) return;
  if (answer !== undefined) hints.learn(answer);
  if (guess !== undefined && (answer === undefined || answer.key.bytes.length < guess.key.bytes.length)) hints.forget(guess);
}

function tooSmall(into: Uint8Array, size: number): KvCacheError {
  return new KvCacheError(ErrorCode.BUFFER_TOO_SMALL, `the matched block is ${size} bytes; options.into holds ${into.length}`, {
    details: { size, capacity: into.length },
  });
}
