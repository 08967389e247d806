import { describe, expect, it, onTestFinished, vi } from "vitest";
import { MemoryMetadataStore } from "../../metadata/memory-metadata-store.js";
import type { NodeEvent } from "../../metadata/metadata-store.js";
import { describeMetadataContract, descriptor, freshNamespace, str } from "../contract/metadata-contract.js";
import { waitFor } from "../helpers/wait-for.js";

describeMetadataContract("MemoryMetadataStore", async () => {
  const store = new MemoryMetadataStore();
  return { store, cleanup: () => store.close() };
}, { propertyRuns: 400 });

describeMetadataContract("MemoryMetadataStore (batches of 1, tiny windows)", async () => {
  // The same semantics must hold whatever the scan's tuning: exercises every branch of the batch reasoning.
  const store = new MemoryMetadataStore({ lookup: { batchSize: 1, windowBytes: 1, windowGrowth: 2 } });
  return { store, cleanup: () => store.close() };
}, { propertyRuns: 200 });

describe("MemoryMetadataStore membership leases", () => {
  function fakeClock(): { now: () => number; advance: (ms: number) => void } {
    let t = 1_000_000;
    return { now: () => t, advance: (ms) => void (t += ms) };
  }

  it("expires a lease whose keep-alive did not run in time, then re-registers and tells the node", async () => {
    const clock = fakeClock();
    const store = new MemoryMetadataStore({ now: clock.now });
    onTestFinished(() => store.close());
    const events: NodeEvent[] = [];
    await store.watchNodes((e) => events.push(e));
    const registration = await store.registerNode({ nodeId: "n1", address: "h:1", adminAddress: "", startedAt: 1 }, 1);
    let reregistered = 0;
    registration.onReregistered(() => (reregistered += 1));

    clock.advance(1001); // as if the event loop had stalled past the TTL
    expect(await store.liveNodes()).toEqual([]);
    await waitFor(() => reregistered === 1, { what: "re-registration after the lease expired", timeoutMs: 5000 });
    expect((await store.liveNodes()).map((n) => n.nodeId)).toEqual(["n1"]);
    await waitFor(() => events.map((e) => e.type).join(",") === "join,leave,join", { what: "join, leave, join events", timeoutMs: 5000 });
  });

  it("unrefs its keep-alive timers and clears them on close", async () => {
    const setSpy = vi.spyOn(globalThis, "setInterval");
    const clearSpy = vi.spyOn(globalThis, "clearInterval");
    onTestFinished(() => {
      vi.restoreAllMocks();
    });
    const store = new MemoryMetadataStore();
    await store.registerNode({ nodeId: "n1", address: "h:1", adminAddress: "", startedAt: 1 }, 1);
    await store.registerNode({ nodeId: "n2", address: "h:2", adminAddress: "", startedAt: 1 }, 1);
    const timers = setSpy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(timers).toHaveLength(2);
    expect(timers.some((t) => t.hasRef())).toBe(false);
    await store.close();
    expect(clearSpy.mock.calls.map(([t]) => t)).toEqual(expect.arrayContaining(timers));
  });

  it("a second registration of a node id survives closing the first", async () => {
    const store = new MemoryMetadataStore();
    onTestFinished(() => store.close());
    const first = await store.registerNode({ nodeId: "n1", address: "old:1", adminAddress: "", startedAt: 1 }, 5);
    await store.registerNode({ nodeId: "n1", address: "new:1", adminAddress: "", startedAt: 2 }, 5);
    await first.close();
    expect((await store.liveNodes()).map((n) => n.address)).toEqual(["new:1"]);
  });
});

describe("MemoryMetadataStore data", () => {
  it("holds 20,000 keys in one namespace and still answers by range scan", async () => {
    const store = new MemoryMetadataStore();
    onTestFinished(() => store.close());
    const ns = freshNamespace();
    const items = Array.from({ length: 20_000 }, (_, i) => ({ key: str(`doc/${(i * 7919) % 20_000}`), descriptor: descriptor(i), ifAbsent: true }));
    await store.putMany(ns, items);
    expect((await store.longestPrefix(ns, str("doc/12345 and the rest")))?.key).toEqual(str("doc/12345"));
    expect(await store.longestPrefix(ns, str("doc/"))).toBeUndefined();
  });

  it("hands out copies: mutating a returned key does not change the store", async () => {
    const store = new MemoryMetadataStore();
    onTestFinished(() => store.close());
    const ns = freshNamespace();
    const key = str("abc");
    const { entry } = await store.insertIfAbsent(ns, key, descriptor());
    (entry.key.bytes as Uint8Array)[0] = 0x7a;
    (key.bytes as Uint8Array)[0] = 0x7a;
    expect((await store.get(ns, str("abc")))?.key).toEqual(str("abc"));
  });
});
