import { createHash } from "node:crypto";

/**
 * Rendezvous (highest-random-weight) hashing: every node gets a score for a key,
 * and the key's nodes are the highest-scoring ones. When a node joins or leaves,
 * only the keys whose top choice it is (or becomes) move; everyone who knows the
 * same live set computes the same order without coordination.
 */

/** Node ids ordered by descending score for `key` (ties, which need a hash collision, by id). */
export function rankNodes(key: Uint8Array, nodeIds: Iterable<string>): string[] {
  // Hash the key once, then one short hash per node: the key may be 64 KiB.
  const keyDigest = createHash("sha256").update(key).digest();
  const scored = [...new Set(nodeIds)].map((id) => ({ id, score: score(id, keyDigest) }));
  scored.sort((a, b) => (a.score === b.score ? (a.id < b.id ? -1 : 1) : a.score > b.score ? -1 : 1));
  return scored.map((s) => s.id);
}

/** The `replicas` distinct nodes a new block of `key` goes to (fewer when fewer are live). */
export function placeReplicas(key: Uint8Array, nodeIds: Iterable<string>, replicas: number): string[] {
  return rankNodes(key, nodeIds).slice(0, Math.max(0, replicas));
}

function score(nodeId: string, keyDigest: Buffer): bigint {
  return createHash("sha256").update(nodeId, "utf8").update(keyDigest).digest().readBigUInt64BE(0);
}
