import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { placeReplicas, rankNodes } from "../../sdk/hrw.js";

const nodes = Array.from({ length: 8 }, (_, i) => `node-${i}`);
const keyOf = (i: number): Uint8Array => Buffer.from(`key/${i}`);

describe("rendezvous placement", () => {
  it("is stable: the same key and live set always give the same order, whatever the input order", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (key) => {
      const a = rankNodes(key, nodes);
      const b = rankNodes(key, [...nodes].reverse());
      expect(a).toEqual(b);
      expect([...a].sort()).toEqual([...nodes].sort());
    }));
  });

  it("places replicas on distinct nodes, and never more than are live", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.integer({ min: 1, max: 10 }), (key, replicas) => {
      const chosen = placeReplicas(key, nodes.slice(0, 3), replicas);
      expect(new Set(chosen).size).toBe(chosen.length);
      expect(chosen.length).toBe(Math.min(replicas, 3));
    }));
    expect(placeReplicas(keyOf(1), [], 2)).toEqual([]);
    expect(placeReplicas(keyOf(1), ["a", "a", "b"], 3)).toHaveLength(2);
  });

  it("spreads keys evenly over the nodes", () => {
    const counts = new Map<string, number>();
    const keys = 8000;
    for (let i = 0; i < keys; i++) {
      const first = placeReplicas(keyOf(i), nodes, 1)[0]!;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    const expected = keys / nodes.length;
    for (const node of nodes) {
      expect(counts.get(node) ?? 0).toBeGreaterThan(expected * 0.85);
      expect(counts.get(node) ?? 0).toBeLessThan(expected * 1.15);
    }
  });

  it("moves only the departed node's keys when a node leaves", () => {
    const without = nodes.filter((n) => n !== "node-3");
    for (let i = 0; i < 2000; i++) {
      const before = placeReplicas(keyOf(i), nodes, 2);
      const after = placeReplicas(keyOf(i), without, 2);
      // Surviving choices keep their order; the departed node is replaced by the next in rank.
      expect(after.slice(0, before.filter((n) => n !== "node-3").length)).toEqual(before.filter((n) => n !== "node-3"));
    }
  });
});
