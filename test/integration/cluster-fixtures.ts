import type { NodeProcess } from "../helpers/node-process.js";
import { startNodeProcess } from "../helpers/node-process.js";
import type { ConfigOverrides } from "../../src/config.js";
import type { CacheKey } from "../../src/keys.js";

/** A deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` bytes determined by `seed` alone: blocks can be re-made to compare instead of being kept. */
export function blockBytes(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  const next = prng(seed);
  for (let i = 0; i + 4 <= size; i += 4) out.writeUInt32LE((next() * 4294967296) >>> 0, i);
  for (let i = size - (size % 4); i < size; i++) out[i] = (next() * 256) | 0;
  return out;
}

/** Starts `count` node processes in parallel on one configuration; stops those that started if one fails. */
export async function startNodes(count: number, config: ConfigOverrides): Promise<NodeProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, (_, i) =>
    startNodeProcess({ configOverrides: { ...config, nodeId: `node-${i}` }, startTimeoutMs: 60_000 })));
  const nodes = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw failed.reason;
  }
  return nodes;
}

/** One sample of a node's /metrics: the value of `name{labels}` (undefined when absent). */
export async function scrapeGauge(adminUrl: string, name: string, labels: string): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** A stored key as the brute-force model keeps it: kind plus comparable text. */
export interface ModelEntry {
  readonly key: CacheKey;
  readonly seed: number;
  readonly size: number;
}

function isPrefix(k: CacheKey, q: CacheKey): boolean {
  if (typeof k === "string" || typeof q === "string") {
    return typeof k === "string" && typeof q === "string" && Buffer.from(q).subarray(0, Buffer.byteLength(k)).equals(Buffer.from(k));
  }
  if (k.length > q.length) return false;
  for (let i = 0; i < k.length; i++) if (k[i] !== q[i]) return false;
  return true;
}

function keyLength(k: CacheKey): number {
  return typeof k === "string" ? Buffer.byteLength(k) : k.length;
}

/** Brute force: the longest stored key of the query's kind that is a prefix of it. */
export function expectedPrefix(stored: readonly ModelEntry[], query: CacheKey): ModelEntry | undefined {
  let best: ModelEntry | undefined;
  for (const entry of stored) {
    if (isPrefix(entry.key, query) && (best === undefined || keyLength(entry.key) > keyLength(best.key))) best = entry;
  }
  return best;
}

/** Canonical text of a key, for maps and messages. */
export function keyId(k: CacheKey): string {
  return typeof k === "string" ? `s:${k}` : `t:${Array.from(k).join(",")}`;
}
