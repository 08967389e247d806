import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeKey } from "../../src/keys.js";
import { CacheMetrics } from "../../src/metrics.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { descriptor, freshNamespace, tok } from "../contract/metadata-contract.js";
import { deleteRoot, testEtcdConfig } from "./etcd-metadata-fixture.js";

/**
 * 10,000 keys shaped like an inference cache: 100 conversations sharing a
 * 32-token system prompt, each stored as a chain of 100 keys (every 4 tokens),
 * so every key starts with the same token and a lookup can't narrow its range
 * by the first byte. Lookups are counted in range requests (etcdRequests{op="range"}).
 */
const CONVERSATIONS = 100;
const CHUNKS = 100;
const CHUNK_TOKENS = 4;
const BATCH = 8; // the store's default batch size

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

describe("EtcdMetadataStore longest prefix over 10,000 keys", () => {
  const config = testEtcdConfig();
  const metrics = new CacheMetrics();
  const ns = freshNamespace("scale");
  const next = prng(42);
  const system = Array.from({ length: 32 }, () => next());
  const conversations = Array.from({ length: CONVERSATIONS }, () => Array.from({ length: CHUNKS * CHUNK_TOKENS }, () => next()));
  const chunkKey = (c: number, j: number): number[] => [...system, ...conversations[c]!.slice(0, (j + 1) * CHUNK_TOKENS)];
  let store: EtcdMetadataStore;

  beforeAll(async () => {
    store = await EtcdMetadataStore.connect({ config, metrics });
    const items = conversations.flatMap((_, c) => Array.from({ length: CHUNKS }, (_, j) => ({ key: tok(chunkKey(c, j)), descriptor: descriptor(j), ifAbsent: true })));
    expect(items).toHaveLength(10_000);
    const results = await store.putMany(ns, items);
    expect(results.every((r) => r.inserted)).toBe(true);
  }, 180_000);

  afterAll(async () => {
    await store?.close();
    await deleteRoot(config);
  });

  async function lookup(tokens: number[]): Promise<{ key: number[] | undefined; ranges: number }> {
    const ranges = async (): Promise<number> => (await metrics.etcdRequests.get()).values.find((v) => v.labels.op === "range")?.value ?? 0;
    const before = await ranges();
    const hit = await store.longestPrefix(ns, tok(tokens));
    const key = hit === undefined ? undefined : [...(decodeKey(hit.key) as Uint32Array)];
    return { key, ranges: (await ranges()) - before };
  }

  it("answers a query that extends the deepest key of a chain in one range request", async () => {
    const got = await lookup([...chunkKey(7, CHUNKS - 1), 1, 2, 3]);
    expect(got.key).toEqual(chunkKey(7, CHUNKS - 1));
    expect(got.ranges).toBe(1);
  });

  it("answers an exact key in one range request", async () => {
    const got = await lookup(chunkKey(3, 10));
    expect(got.key).toEqual(chunkKey(3, 10));
    expect(got.ranges).toBe(1);
  });

  it("answers a query that branches off mid-chain in at most two range requests", async () => {
    for (const [c, j] of [[11, 50], [42, 0], [99, 98]] as const) {
      // Branch with a token above the stored one: the chain's 50 deeper keys all sort between the answer and the query.
      const branch = [...chunkKey(c, j), (conversations[c]![(j + 1) * CHUNK_TOKENS]! + 1) >>> 0 || 1, 5, 6, 7];
      const got = await lookup(branch);
      expect(got.key).toEqual(chunkKey(c, j));
      expect(got.ranges).toBeLessThanOrEqual(2);
    }
  });

  it("never reads the whole namespace for an adversarial miss", async () => {
    for (const tail of [[0], [0xffffffff], conversations[5]!.slice(0, 3)]) {
      const got = await lookup([...system, ...tail]);
      expect(got.key).toBeUndefined();
      // Every request returns at most BATCH keys: this bounds what one lookup can read.
      expect(got.ranges * BATCH).toBeLessThanOrEqual(100);
    }
  });
});
