import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { CacheKey, EncodedKey } from "../src/keys.js";
import { readBlock } from "./block-reader.js";
import type { CoreDeps } from "./core.js";
import { asBuffer, matchedPrefixOf } from "./matched-prefix.js";
import type { SdkMetrics } from "./sdk-metrics.js";
import type { LoadHit, PrefixMatch } from "./types.js";

/**
 * The read path: resolve the deepest stored prefix in metadata (range scans,
 * see DESIGN.md), then fetch its block. A plain miss is null; failures throw
 * typed errors and the client decides whether they degrade to a miss.
 */
export async function loadPrefix<Q extends CacheKey>(
  deps: CoreDeps, metrics: SdkMetrics, query: Q, key: EncodedKey, into?: Uint8Array,
): Promise<LoadHit<Q> | null> {
  const entry = await deps.metadata.longestPrefix(deps.namespace, key);
  if (entry === undefined) return null;
  if (into !== undefined && into.length < entry.descriptor.size) throw tooSmall(into, entry.descriptor.size);
  const read = await readBlock(deps, entry.key, entry.descriptor, into);
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

function tooSmall(into: Uint8Array, size: number): KvCacheError {
  return new KvCacheError(ErrorCode.BUFFER_TOO_SMALL, `the matched block is ${size} bytes; options.into holds ${into.length}`, {
    details: { size, capacity: into.length },
  });
}
