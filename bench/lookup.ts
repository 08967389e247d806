import { Etcd3 } from "etcd3";
import { DatenLordSDK, type KvCacheClient } from "../sdk/index.js";
import { loadConfig } from "../src/config.js";
import { newBlockId } from "../src/block.js";
import { encodeKey, type EncodedKey } from "../src/keys.js";
import { EtcdMetadataStore } from "../metadata/etcd-metadata-store.js";
import { KeyLayout } from "../metadata/key-layout.js";
import type { BlockDescriptor } from "../metadata/metadata-store.js";
import { alternateLatency, median, MiB, percentile } from "./measure.js";
import type { BenchRow } from "./report.js";

export interface LookupSettings {
  /** Keys in each etcd, e.g. 1k, 10k, 100k: one etcd per count, all measured together. */
  readonly keyCounts: readonly number[];
  readonly samples: number;
}

export interface LookupDeps {
  /** A new etcd server of its own: one per key count. The caller stops them (`stop`) when the section ends. */
  readonly startEtcd: () => Promise<{ readonly endpoint: string }>;
}

/** One key count's etcd, filled with that many keys, with an SDK, the metadata store and a plain etcd3 client on it. */
interface KeySet {
  readonly count: number;
  readonly families: number;
  readonly sdk: DatenLordSDK;
  readonly client: KvCacheClient;
  readonly metadata: EtcdMetadataStore;
  readonly etcd: Etcd3;
}

const NAMESPACE = "bench";
const ROOT = "/bench-lookup";
const layout = new KeyLayout(ROOT);

/**
 * The key set: prompt families of 8 stored prefixes each (64, 128 … 512 tokens),
 * every family opening with the same 32-token system prompt. A query is a family's
 * key of 256 – 512 tokens followed by 64 tokens of its own (a new turn), so the
 * answer is the key it extends; queries come from every family stored so far.
 */
const FAMILY_KEYS = 8;
const STEP = 64;
const SYSTEM_PROMPT = Array.from({ length: 32 }, (_, i) => 1000 + i);

function familyTokens(family: number): number[] {
  let x = (family + 1) * 2654435761 >>> 0;
  const next = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return 2000 + (x % 30000); };
  return [...SYSTEM_PROMPT, ...Array.from({ length: FAMILY_KEYS * STEP - SYSTEM_PROMPT.length }, next)];
}

function query(family: number, sample: number): { tokens: Uint32Array; expectedLength: number } {
  const depth = STEP * (4 + (sample % 5)); // 256 … 512 tokens
  const tail = Array.from({ length: STEP }, (_, i) => 40000 + ((sample * 31 + i) % 997));
  return { tokens: Uint32Array.from([...familyTokens(family).slice(0, depth), ...tail]), expectedLength: depth };
}

/**
 * matchPrefix p50 / p99 at each key count vs one etcd GET of a stored key. Each
 * count has its own etcd, and the samples go round all of them call by call
 * (a lookup and a GET at 1k keys, then at 10k, …), so the machine's load, which
 * drifts over a run, falls on every count alike: the growth row compares key
 * counts, not moments.
 */
export async function benchLookup(deps: LookupDeps, s: LookupSettings): Promise<BenchRow[]> {
  const sets: KeySet[] = [];
  try {
    for (const count of s.keyCounts) {
      const set = await keySet(deps, count);
      sets.push(set); // closed in `finally` even if filling it fails
      await populate(set.metadata, NAMESPACE, set.families);
    }
    const rows = await measure(sets, s.samples);
    if (rows.length >= 2) rows.push(growth(rows[0]!, rows.at(-1)!, s.keyCounts));
    const largest = sets.at(-1)!;
    rows.push(...(await denseStrings(largest, Math.max(20, Math.round(s.samples / 10)))));
    return rows;
  } finally {
    for (const set of sets.reverse()) await closeKeySet(set);
  }
}

/** An empty key set on a new etcd (an SDK that fails to connect takes the metadata store down with it). */
async function keySet(deps: LookupDeps, count: number): Promise<KeySet> {
  const { endpoint } = await deps.startEtcd();
  const options = { namespace: NAMESPACE, etcd: { endpoints: [endpoint], rootPrefix: ROOT }, sdk: { strict: true } };
  const metadata = await EtcdMetadataStore.connect({ config: loadConfig({ overrides: options, env: {} }).etcd });
  const sdk = new DatenLordSDK({ env: {}, options });
  const client = await sdk.connect().catch(async (err: unknown) => {
    await metadata.close();
    throw err;
  });
  return { count, families: Math.ceil(count / FAMILY_KEYS), sdk, client, metadata, etcd: new Etcd3({ hosts: endpoint }) };
}

async function closeKeySet(set: KeySet): Promise<void> {
  set.etcd.close();
  await set.sdk.close();
  await set.metadata.close();
}

const DENSE_KEYS = 50_000;
const DENSE_NAMESPACE = "bench-dense-strings";

/**
 * Where the lookup does not stay flat (README, "Metadata layout in etcd"): short
 * string keys that share their first bytes, `user/000000/chat` … `user/049999/chat`,
 * queried with a new turn after the first key and after the last. The first range
 * spans every key from the query's first byte up to it, and etcd 3.4 reads all of
 * them; no target. Measured on the metadata store itself (the SDK is bound to the
 * other namespace), in the etcd of the most keys.
 */
async function denseStrings(set: KeySet, samples: number): Promise<BenchRow[]> {
  const { metadata, etcd } = set;
  const key = (i: number): string => `user/${String(i).padStart(6, "0")}/chat`;
  await putEntries(metadata, DENSE_NAMESPACE, Array.from({ length: DENSE_KEYS }, (_, i) => encodeKey(key(i), Infinity)));
  const rows: BenchRow[] = [];
  for (const [where, index] of [["first", 0], ["last", DENSE_KEYS - 1]] as const) {
    const stored = encodeKey(key(index), Infinity);
    const query = encodeKey(`${key(index)}/turn 2`, Infinity);
    const match = async (): Promise<void> => {
      const hit = await metadata.longestPrefix(DENSE_NAMESPACE, query);
      if (hit === undefined || hit.key.bytes.length !== stored.bytes.length) throw new Error(`lookup found ${hit?.key.bytes.length ?? "nothing"}, expected ${stored.bytes.length} bytes`);
    };
    const get = async (): Promise<void> => {
      if ((await etcd.get(layout.entryKey(DENSE_NAMESPACE, stored)).buffer()) === null) throw new Error("etcd GET of a stored key found nothing");
    };
    await alternateLatency(Math.min(10, samples), { match, get });
    const ms = await alternateLatency(samples, { match, get });
    const [mine, theirs] = [ms["match"]!, ms["get"]!];
    rows.push({
      section: "lookup only",
      name: `lookup p50, ${DENSE_KEYS.toLocaleString("en-US")} short string keys sharing "user/0", query after the ${where}`,
      value: median(mine),
      unit: "ms",
      extra: `p99 ${percentile(mine, 99).toFixed(2)} ms`,
      baseline: { name: "one etcd GET (etcd3)", value: median(theirs), extra: `p99 ${percentile(theirs, 99).toFixed(2)} ms` },
    });
  }
  return rows;
}

/**
 * The "flat" target: matchPrefix p50 at the most keys over the fewest, at most
 * 1.2×. One etcd GET's own growth over the same key counts is the baseline, so
 * a run where etcd itself slows down shows as such.
 */
function growth(fewest: BenchRow, most: BenchRow, counts: readonly number[]): BenchRow {
  const span = `${counts[0]!.toLocaleString("en-US")} → ${counts.at(-1)!.toLocaleString("en-US")} keys`;
  return {
    section: "lookup only",
    name: `matchPrefix p50 growth, ${span}`,
    value: most.value / fewest.value,
    unit: "×",
    extra: `${fewest.value.toFixed(2)} → ${most.value.toFixed(2)} ms`,
    baseline: { name: "one etcd GET's growth", value: most.baseline!.value / fewest.baseline!.value, extra: `${fewest.baseline!.value.toFixed(2)} → ${most.baseline!.value.toFixed(2)} ms` },
    target: { op: "<=", ratio: 1.2, of: "value" },
  };
}

async function populate(metadata: EtcdMetadataStore, namespace: string, families: number): Promise<void> {
  const keys: EncodedKey[] = [];
  for (let f = 0; f < families; f++) {
    const tokens = familyTokens(f);
    for (let k = 1; k <= FAMILY_KEYS; k++) keys.push(encodeKey(tokens.slice(0, k * STEP), Infinity));
  }
  await putEntries(metadata, namespace, keys);
}

/** Stores `keys` in metadata only, 4096 to a putMany. */
async function putEntries(metadata: EtcdMetadataStore, namespace: string, keys: readonly EncodedKey[]): Promise<void> {
  // No node holds these blocks, so no descriptor names one (a node's sweep drops claims it cannot back).
  const descriptor = (): BlockDescriptor => ({ blockId: newBlockId(), size: MiB, checksum: 0, holders: [], s3: true, createdAt: Date.now() });
  for (let i = 0; i < keys.length; i += 4096) {
    await metadata.putMany(namespace, keys.slice(i, i + 4096).map((key) => ({ key, descriptor: descriptor(), ifAbsent: false })));
  }
}

async function measure(sets: readonly KeySet[], samples: number): Promise<BenchRow[]> {
  const calls: Record<string, (i: number) => Promise<void>> = {};
  for (const set of sets) {
    calls[`match ${set.count}`] = (i) => match(set, i);
    calls[`get ${set.count}`] = (i) => get(set, i);
  }
  await settle(calls, Math.min(500, samples));
  const before = await Promise.all(sets.map((set) => rangeRequests(set.sdk)));
  const ms = await alternateLatency(samples, calls);
  const after = await Promise.all(sets.map((set) => rangeRequests(set.sdk)));
  return sets.map((set, k) => {
    const [mine, theirs] = [ms[`match ${set.count}`]!, ms[`get ${set.count}`]!];
    const perLookup = (after[k]! - before[k]!) / samples;
    return {
      section: "lookup only",
      name: `matchPrefix p50, ${set.count.toLocaleString("en-US")} keys in etcd`,
      value: median(mine),
      unit: "ms",
      extra: `p99 ${percentile(mine, 99).toFixed(2)} ms, ${perLookup.toFixed(2)} etcd requests/lookup`,
      baseline: { name: "one etcd GET (etcd3)", value: median(theirs), extra: `p99 ${percentile(theirs, 99).toFixed(2)} ms` },
      target: { op: "<=", ratio: 1.5 },
    };
  });
}

const SETTLE_WINDOW = 100;
const SETTLE_MAX_WINDOWS = 30;

/**
 * Warm-up: at least `minimum` rounds of every call, then windows of
 * {@link SETTLE_WINDOW} until, twice in a row, no call's median moved more
 * than 10% from the window before (at most {@link SETTLE_MAX_WINDOWS}). An etcd
 * just filled with 100k keys answers a GET about twice as slowly for its first
 * seconds (1.8 → 1.2 → 0.8 ms over three windows here); measured then, that
 * transient would pass for growth with the key count.
 */
async function settle(calls: Record<string, (i: number) => Promise<void>>, minimum: number): Promise<void> {
  await alternateLatency(minimum, calls);
  let previous = medians(await alternateLatency(SETTLE_WINDOW, calls));
  let steady = 0;
  for (let w = 1; w < SETTLE_MAX_WINDOWS && steady < 2; w++) {
    const current = medians(await alternateLatency(SETTLE_WINDOW, calls));
    steady = Object.keys(current).every((name) => Math.abs(current[name]! / previous[name]! - 1) <= 0.1) ? steady + 1 : 0;
    previous = current;
  }
}

const medians = (ms: Record<string, number[]>): Record<string, number> => Object.fromEntries(Object.entries(ms).map(([name, v]) => [name, median(v)]));

const familyOf = (set: KeySet, i: number): number => (i * 7919) % set.families;

async function match(set: KeySet, i: number): Promise<void> {
  const q = query(familyOf(set, i), i);
  const hit = await set.client.matchPrefix(q.tokens);
  if (hit === null || hit.matchedPrefix.length !== q.expectedLength) throw new Error(`matchPrefix found ${hit?.matchedPrefix.length ?? "nothing"}, expected ${q.expectedLength} tokens`);
}

async function get(set: KeySet, i: number): Promise<void> {
  const key = layout.entryKey(NAMESPACE, encodeKey(familyTokens(familyOf(set, i)).slice(0, STEP * (1 + (i % FAMILY_KEYS))), Infinity));
  if ((await set.etcd.get(key).buffer()) === null) throw new Error("etcd GET of a stored key found nothing");
}

async function rangeRequests(sdk: DatenLordSDK): Promise<number> {
  const metric = await sdk.metrics.cache.etcdRequests.get();
  return metric.values.filter((v) => v.labels["op"] === "range").reduce((sum, v) => sum + v.value, 0);
}
