import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { makeBlock, newBlockId, type Block, type BlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { MemoryTier } from "../../storage/memory-tier.js";
import { describeTierContract, expectSameBlock, listIds, sampleBlock } from "../contract/tier-contract.js";
import { LruModel, opSequences, runAgainstModel } from "./lru-model.js";

describeTierContract("MemoryTier", async () => {
  const tier = new MemoryTier({ capacityBytes: 64 * 1024 });
  return { tier, capacityBytes: 64 * 1024, cleanup: () => tier.close() };
});

type Eviction = [BlockId, Block, string];

function recordingTier(capacityBytes: number): { tier: MemoryTier; evictions: Eviction[]; metrics: CacheMetrics } {
  const evictions: Eviction[] = [];
  const metrics = new CacheMetrics();
  const tier = new MemoryTier({ capacityBytes, metrics, onEvict: (id, block, reason) => void evictions.push([id, block, reason]) });
  return { tier, evictions, metrics };
}

async function counterValue(metrics: CacheMetrics, name: "checksumFailures" | "tierHits" | "tierMisses", tier: string): Promise<number> {
  const { values } = await metrics[name].get();
  return values.find((v) => v.labels.tier === tier)?.value ?? 0;
}

describe("MemoryTier", () => {
  it("evicts the least recently used block first; a get refreshes recency", async () => {
    const { tier, evictions } = recordingTier(300);
    const [a, b, c, d, e] = [newBlockId(), newBlockId(), newBlockId(), newBlockId(), newBlockId()];
    const blocks = new Map([a, b, c, d].map((id) => [id, sampleBlock(100)] as const));
    for (const id of [a, b, c]) await tier.put(id, blocks.get(id)!);
    await tier.get(a);
    await tier.put(d, blocks.get(d)!);
    expect(evictions.map(([id]) => id)).toEqual([b]);
    expect(evictions[0]![2]).toBe("capacity");
    expectSameBlock(evictions[0]![1], blocks.get(b)!);
    await tier.put(e, sampleBlock(200));
    expect(evictions.map(([id]) => id)).toEqual([b, c, a]);
    expect(await listIds(tier)).toEqual([d, e].sort());
    expect(tier.stats()).toEqual({ items: 2, bytes: 300, capacityBytes: 300 });
  });

  it("does not report deletes, overwrites or close as evictions", async () => {
    const { tier, evictions } = recordingTier(1000);
    const [a, b] = [newBlockId(), newBlockId()];
    await tier.put(a, sampleBlock(400));
    await tier.put(b, sampleBlock(400));
    await tier.put(a, sampleBlock(500));
    await tier.delete(b);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 500 });
    await tier.close();
    expect(evictions).toEqual([]);
  });

  it("reports only the other victims when an overwrite needs room", async () => {
    const { tier, evictions } = recordingTier(1000);
    const [a, b] = [newBlockId(), newBlockId()];
    await tier.put(b, sampleBlock(400));
    await tier.put(a, sampleBlock(400));
    await tier.put(a, sampleBlock(700));
    expect(evictions.map(([id]) => id)).toEqual([b]);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 700 });
  });

  it("hands a throwing or rejecting onEvict to onError, never unhandled", async () => {
    const errors: unknown[] = [];
    const handlers = [() => Promise.reject(new Error("spill failed")), () => { throw new Error("sync failure"); }];
    for (const onEvict of handlers) {
      const tier = new MemoryTier({ capacityBytes: 100, onEvict, onError: (err) => void errors.push(err) });
      await tier.put(newBlockId(), sampleBlock(60));
      const kept = newBlockId();
      await tier.put(kept, sampleBlock(60));
      await expect(tier.has(kept)).resolves.toBe(true);
      expect(tier.stats()).toMatchObject({ items: 1, bytes: 60 });
    }
    await expect.poll(() => errors.map((e) => (e as Error).message).sort()).toEqual(["spill failed", "sync failure"]);
  });

  it("drops a block whose buffer was mutated after put: a counted miss, owner told", async () => {
    const corrupt: BlockId[] = [];
    const metrics = new CacheMetrics();
    const tier = new MemoryTier({ capacityBytes: 1000, metrics, onCorrupt: (id) => void corrupt.push(id) });
    const id = newBlockId();
    const data = Buffer.from("some kv bytes");
    await tier.put(id, makeBlock(data));
    data[0] = data[0]! ^ 0xff;
    await expect(tier.get(id)).resolves.toBeUndefined();
    await expect(tier.has(id)).resolves.toBe(false);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
    expect(await counterValue(metrics, "checksumFailures", "memory")).toBe(1);
    expect(await counterValue(metrics, "tierMisses", "memory")).toBe(1);
    expect(corrupt).toEqual([id]);
  });

  it("keeps blocks without copying", async () => {
    const { tier, metrics } = recordingTier(1000);
    const id = newBlockId();
    const block = sampleBlock(10);
    await tier.put(id, block);
    const got = await tier.get(id);
    expect(got?.data).toBe(block.data);
    expect(await counterValue(metrics, "tierHits", "memory")).toBe(1);
  });

  it("stores empty blocks, each charged one byte against capacity", async () => {
    const { tier, evictions } = recordingTier(16);
    const ids = Array.from({ length: 20 }, () => newBlockId());
    for (const id of ids) await tier.put(id, sampleBlock(0));
    expect(tier.stats()).toEqual({ items: 16, bytes: 0, capacityBytes: 16 });
    expect(evictions.map(([id]) => id)).toEqual(ids.slice(0, 4));
    await tier.put(newBlockId(), sampleBlock(16));
    expect(tier.stats()).toEqual({ items: 1, bytes: 16, capacityBytes: 16 });
  });

  it("publishes its size to the metrics registry", async () => {
    const { tier, metrics } = recordingTier(1000);
    await tier.put(newBlockId(), sampleBlock(123));
    const text = await metrics.registry.metrics();
    expect(text).toContain('kvcache_tier_bytes{tier="memory"} 123');
    expect(text).toContain('kvcache_tier_items{tier="memory"} 1');
    expect(text).toContain('kvcache_tier_capacity_bytes{tier="memory"} 1000');
  });

  it("rejects a capacity that is not a positive integer", () => {
    for (const capacityBytes of [0, -1, 1.5, Infinity, Number.NaN]) {
      expect(() => new MemoryTier({ capacityBytes })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    }
  });

  it("agrees with an LRU model on random operation sequences", async () => {
    const ids = Array.from({ length: 6 }, () => newBlockId());
    await fc.assert(
      fc.asyncProperty(opSequences(ids.length, 400, 60), async (ops) => {
        const evicted: BlockId[] = [];
        const tier = new MemoryTier({ capacityBytes: 1000, onEvict: (id) => void evicted.push(id) });
        const model = new LruModel({ capacityBytes: 1000, charge: (size) => Math.max(1, size), replaceBeforeEvict: true });
        await runAgainstModel(tier, model, ops, ids, evicted);
        await tier.close();
      }),
      { numRuns: 200 },
    );
  });
});
