import { describe, expect, it, onTestFinished } from "vitest";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { descriptor, freshNamespace, str } from "../contract/metadata-contract.js";
import { deleteRoot, testEtcdConfig } from "./etcd-metadata-fixture.js";

const CLIENTS = 50;

/** 50 separate stores (50 etcd clients, 50 connections) over one root prefix. */
async function openClients(): Promise<EtcdMetadataStore[]> {
  const config = testEtcdConfig();
  const stores = await Promise.all(Array.from({ length: CLIENTS }, () => EtcdMetadataStore.connect({ config })));
  onTestFinished(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await deleteRoot(config);
  });
  return stores;
}

describe("EtcdMetadataStore under contention from 50 clients", () => {
  it("insertIfAbsent of one key: exactly one descriptor, every caller succeeds and agrees on the winner", async () => {
    const stores = await openClients();
    const ns = freshNamespace();
    const mine = stores.map((_, i) => descriptor(i));
    const results = await Promise.all(stores.map((s, i) => s.insertIfAbsent(ns, str("contended/key"), mine[i]!)));
    const winners = results.filter((r) => r.inserted);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.entry;
    expect(results.every((r) => r.entry.descriptor.blockId === winner.descriptor.blockId && r.entry.revision === winner.revision)).toBe(true);
    // The winner is the caller told it won.
    expect(mine[results.findIndex((r) => r.inserted)]!.blockId).toBe(winner.descriptor.blockId);
    const stored = await stores[0]!.get(ns, str("contended/key"));
    expect(stored?.descriptor.blockId).toBe(winner.descriptor.blockId);
    const all: string[] = [];
    for await (const { namespace } of stores[0]!.entries()) if (namespace === ns) all.push(namespace);
    expect(all).toHaveLength(1);
  });

  it("update adding 50 distinct holders to one descriptor keeps all 50", async () => {
    const stores = await openClients();
    const ns = freshNamespace();
    await stores[0]!.insertIfAbsent(ns, str("hot"), descriptor());
    const holders = stores.map((_, i) => `node-${String(i).padStart(2, "0")}`);
    const results = await Promise.all(stores.map((s, i) => s.update(ns, str("hot"), (cur) => cur && { ...cur, holders: [...cur.holders, holders[i]!] })));
    expect(results.every((r, i) => r?.descriptor.holders.includes(holders[i]!))).toBe(true);
    expect((await stores[0]!.get(ns, str("hot")))?.descriptor.holders).toEqual(holders);
  });
});
