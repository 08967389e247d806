import type { IRangeRequest, ITxnRequest } from "etcd3";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { describe, expect, it, onTestFinished } from "vitest";
import { ErrorCode } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { describeMetadataContract, descriptor, freshNamespace, str, tok } from "../contract/metadata-contract.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait-for.js";
import { deleteRoot, testEtcdConfig, withRawClient } from "./etcd-metadata-fixture.js";

/** A store on a fresh root for the contract suite, with the given store options. */
function contractStore(options: { denseRangeKeys?: number } = {}) {
  return async () => {
    const config = testEtcdConfig();
    const store = await EtcdMetadataStore.connect({ config, ...options });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deleteRoot(config);
      },
    };
  };
}

describeMetadataContract("EtcdMetadataStore", contractStore(), { propertyRuns: 40 });

// The same contract where every range that held a key marks its start dense, so
// lookups mix descending ranges with point reads of candidate prefixes.
describeMetadataContract("EtcdMetadataStore, point reads after any non-empty range", contractStore({ denseRangeKeys: 0 }), { propertyRuns: 40 });

async function openStore(metrics = new CacheMetrics()): Promise<{ store: EtcdMetadataStore; config: ReturnType<typeof testEtcdConfig>; metrics: CacheMetrics }> {
  const config = testEtcdConfig();
  const store = await EtcdMetadataStore.connect({ config, metrics });
  onTestFinished(async () => {
    await store.close();
    await deleteRoot(config);
  });
  return { store, config, metrics };
}

async function counter(metrics: CacheMetrics, op: string): Promise<number> {
  return (await metrics.etcdRequests.get()).values.find((v) => v.labels.op === op)?.value ?? 0;
}

describe("EtcdMetadataStore specifics", () => {
  it("fails to connect with ERR_ETCD_UNAVAILABLE naming the endpoints when nothing listens", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const err = await EtcdMetadataStore.connect({ config: testEtcdConfig({ endpoints: [endpoint], requestTimeoutMs: 1000 }) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.ETCD_UNAVAILABLE, retryable: true });
    expect((err as Error).message).toContain(endpoint);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("fails to connect within the deadline when the endpoint accepts but never answers", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      silent.close(() => resolve());
    }));
    const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const err = await EtcdMetadataStore.connect({ config: testEtcdConfig({ endpoints: [endpoint], requestTimeoutMs: 500 }) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.ETCD_UNAVAILABLE });
    expect((err as Error).message).toContain(endpoint);
  });

  it("lays keys out as <root>/ns/<escaped namespace>/<s|t>/<raw key bytes>", async () => {
    const { store, config } = await openStore();
    await store.insertIfAbsent("tenant/a b", str("k\u0000é"), descriptor());
    await store.insertIfAbsent("tenant/a b", tok([0xffffffff, 1]), descriptor());
    const keys = await withRawClient(config.endpoints, (raw) => raw.getAll().prefix(`${config.rootPrefix}/`).keyBuffers());
    expect(keys.map((k) => k.toString("hex")).sort()).toEqual([
      Buffer.concat([Buffer.from(`${config.rootPrefix}/ns/tenant%2Fa%20b/s/`), Buffer.from("k\u0000é")]).toString("hex"),
      Buffer.concat([Buffer.from(`${config.rootPrefix}/ns/tenant%2Fa%20b/t/`), Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1])]).toString("hex"),
    ].sort());
  });

  it("reports a malformed stored value as ERR_ETCD naming the key, without crashing", async () => {
    const { store, config } = await openStore();
    const ns = freshNamespace();
    await withRawClient(config.endpoints, async (raw) => void (await raw.put(`${config.rootPrefix}/ns/${ns}/s/bad`).value("{not json")));
    await withRawClient(config.endpoints, async (raw) => void (await raw.put(`${config.rootPrefix}/ns/${ns}/s/worse`).value(JSON.stringify({ blockId: "x" }))));
    await expect(store.get(ns, str("bad"))).rejects.toMatchObject({ code: ErrorCode.ETCD, retryable: false, message: expect.stringContaining("/s/bad") });
    await expect(store.longestPrefix(ns, str("worse and more"))).rejects.toMatchObject({ code: ErrorCode.ETCD, message: expect.stringContaining("blockId") });
    await expect(store.update(ns, str("bad"), () => undefined)).rejects.toMatchObject({ code: ErrorCode.ETCD });
  });

  it("counts its requests by kind: a hit on the deepest key is one range request", async () => {
    const { store, metrics } = await openStore();
    const ns = freshNamespace();
    await store.putMany(ns, ["a", "ab", "abc"].map((k) => ({ key: str(k), descriptor: descriptor(), ifAbsent: true })));
    expect(await counter(metrics, "txn")).toBe(1);
    const before = await counter(metrics, "range");
    expect((await store.longestPrefix(ns, str("abcdef")))?.key).toEqual(str("abc"));
    expect(await counter(metrics, "range")).toBe(before + 1);
  });

  it("concurrent inserts of one client share transactions; every key has exactly one winner, which every loser is told", async () => {
    const { store, metrics } = await openStore();
    const ns = freshNamespace("batched");
    await store.insertIfAbsent(ns, str("batch/existing"), descriptor(999));
    const before = await counter(metrics, "txn");
    // 40 new keys, each asked twice at once, and one that already exists.
    const keys = [...Array.from({ length: 40 }, (_, i) => `batch/${i}`), ...Array.from({ length: 40 }, (_, i) => `batch/${i}`), "batch/existing"];
    const results = await Promise.all(keys.map((k, i) => store.insertIfAbsent(ns, str(k), descriptor(i))));
    for (let i = 0; i < 40; i++) {
      const [first, second] = [results[i]!, results[i + 40]!];
      expect([first.inserted, second.inserted].sort()).toEqual([false, true]);
      const stored = (await store.get(ns, str(`batch/${i}`)))!.descriptor;
      expect(first.entry.descriptor.blockId).toBe(stored.blockId);
      expect(second.entry.descriptor.blockId).toBe(stored.blockId);
    }
    expect(results[80]!.inserted).toBe(false);
    expect(results[80]!.entry.descriptor.checksum).toBe(999);
    // Far fewer transactions than the 81 single inserts would take.
    expect(await counter(metrics, "txn") - before).toBeLessThanOrEqual(12);
  });

  it("re-registers a node whose lease was revoked behind its back, and tells it", async () => {
    const { store, config } = await openStore();
    const registration = await store.registerNode({ nodeId: "n1", address: "h:1", adminAddress: "", startedAt: 1 }, 3);
    let reregistered = 0;
    registration.onReregistered(() => (reregistered += 1));
    const key = `${config.rootPrefix}/nodes/n1`;
    const leaseOf = async (): Promise<string | undefined> =>
      withRawClient(config.endpoints, async (raw) => (await raw.kv.range({ key: Buffer.from(key) })).kvs[0]?.lease);
    const lost = await leaseOf();
    await withRawClient(config.endpoints, (raw) => raw.leaseClient.leaseRevoke({ ID: lost! }));
    await waitFor(() => reregistered === 1, { what: "onReregistered after the lease was revoked", timeoutMs: 10_000 });
    const renewed = await leaseOf();
    expect(renewed).toBeDefined();
    expect(renewed).not.toBe(lost);
    expect((await store.liveNodes()).map((n) => n.nodeId)).toEqual(["n1"]);
  });

  it("reads candidate prefixes one by one where a lookup's range spanned many keys (short string keys sharing their first bytes)", async () => {
    const config = testEtcdConfig();
    await withRawClient(config.endpoints, async (client) => {
      const descending: IRangeRequest[] = [];
      const record = (request: IRangeRequest): void => void (request.sort_order === "Descend" && descending.push(request));
      const kv = new Proxy(client.kv, {
        get(target, prop) {
          const value = Reflect.get(target, prop) as unknown;
          if (prop === "range") return (request: IRangeRequest, ...rest: unknown[]) => (record(request), target.range(request, ...(rest as [])));
          if (prop === "txn") return (request: ITxnRequest, ...rest: unknown[]) => (request.success?.forEach((op) => op.request_range && record(op.request_range)), target.txn(request, ...(rest as [])));
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      // Without etcd3's pool to borrow, lookups' range calls go through `kv` (EtcdRangeCalls), where the spy sees them.
      const spied = new Proxy(client, { get: (target, prop) => (prop === "kv" ? kv : prop === "pool" ? undefined : Reflect.get(target, prop)) });
      const store = await EtcdMetadataStore.connect({ config, client: spied, denseRangeKeys: 16 });
      onTestFinished(async () => {
        await store.close();
        await deleteRoot(config);
      });
      const ns = freshNamespace();
      const key = (i: number): string => `user/${String(i).padStart(3, "0")}/chat`;
      await store.putMany(ns, Array.from({ length: 100 }, (_, i) => ({ key: str(key(i)), descriptor: descriptor(), ifAbsent: true })));
      // The first lookup's range spans every key from "u" up to the query: 100 of them.
      expect((await store.longestPrefix(ns, str(`${key(99)}/turn 2`)))?.key).toEqual(str(key(99)));
      const ranges = descending.length;
      expect(ranges).toBeGreaterThan(0);
      for (const i of [98, 50, 0]) expect((await store.longestPrefix(ns, str(`${key(i)}/more`)))?.key).toEqual(str(key(i)));
      expect(await store.longestPrefix(ns, str("user/050/cha"))).toBeUndefined();
      expect((await store.longestPrefix(ns, str(key(7))))?.key).toEqual(str(key(7)));
      expect(descending).toHaveLength(ranges); // no descending range since: point reads
    });
  });

  it("leaves an injected client open on close", async () => {
    const config = testEtcdConfig();
    await withRawClient(config.endpoints, async (client) => {
      const store = await EtcdMetadataStore.connect({ config, client });
      await store.close();
      await client.put(`${config.rootPrefix}/still-open`).value("yes");
      expect(await client.get(`${config.rootPrefix}/still-open`).string()).toBe("yes");
      await deleteRoot(config);
    });
  });
});
