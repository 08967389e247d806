import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode, type KvCacheClient } from "../../sdk/index.js";
import type { ConfigOverrides } from "../../src/config.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { isHealthy } from "../helpers/etcd-process.js";
import { testConfigOverrides, uniqueName } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { waitFor } from "../helpers/wait-for.js";
import { inParallel, insertInto, loadInto, SdkPool, seesNodes, Tally, testBlocks, type TestBlock } from "./fault-fixtures.js";

/**
 * etcd faults against a real 3-member etcd cluster, one node process and SDK
 * clients that are never restarted: one member down (the leader) must be
 * invisible to callers at the default etcd.requestTimeoutMs; all members down
 * must turn lookups into misses within etcd.requestTimeoutMs (a shorter one
 * here, so the test is quick; typed errors in strict mode) and inserts into
 * typed failures, and everything must work again by itself once etcd is back.
 */
const ETCD_TIMEOUT_MS = 2500;
const KiB = 1024;

let etcd: EtcdCluster;
let node: NodeProcess;
let config: ConfigOverrides;
const sdks = new SdkPool();
/** Default etcd.requestTimeoutMs (5 s). */
let steady: KvCacheClient;
/** etcd.requestTimeoutMs = ETCD_TIMEOUT_MS, plain and strict. */
let client: KvCacheClient;
let strict: KvCacheClient;
const stored: TestBlock[] = [];

/** Index of the member the others follow. */
async function leaderIndex(endpoints: readonly string[]): Promise<number> {
  const ids = await Promise.all(endpoints.map(async (e) => {
    const c = new Etcd3({ hosts: [e] });
    try {
      const s = await c.maintenance.status();
      return { self: s.header.member_id, leader: s.leader };
    } finally {
      c.close();
    }
  }));
  return ids.findIndex((m) => m.self === ids[0]!.leader);
}

beforeAll(async () => {
  etcd = await startEtcdCluster(3);
  config = testConfigOverrides({
    namespace: uniqueName("fault-etcd"),
    etcd: { endpoints: etcd.endpoints, leaseTtlSeconds: 5 },
    cluster: { requestTimeoutMs: 10_000 },
  });
  node = await startNodeProcess({ configOverrides: config, startTimeoutMs: 60_000 });
  const quick = { ...config.etcd, requestTimeoutMs: ETCD_TIMEOUT_MS };
  [steady, client, strict] = await Promise.all([sdks.connect(config), sdks.connect(config, { etcd: quick }), sdks.connect(config, { etcd: quick, sdk: { strict: true } })]);
  const seen = async (c: KvCacheClient): Promise<boolean> => (await c.nodes()).length === 1;
  await waitFor(async () => (await seen(steady)) && (await seen(client)) && (await seen(strict)), { what: "the node in every SDK's membership" });
}, 120_000);

afterAll(async () => {
  await sdks.closeAll();
  await node?.stop();
  await etcd?.stop();
}, 60_000);

describe("one member of a 3-member etcd cluster down", () => {
  it("killing the leader mid-workload: 120 inserts and 240 loads, zero client-visible errors, zero wrong bytes", async () => {
    const blocks = testBlocks("one-down", 120, (i) => 1 * KiB + i);
    const tally = new Tally();
    const leader = await leaderIndex(etcd.endpoints);
    expect(leader).toBeGreaterThanOrEqual(0);
    let killed = false;
    await inParallel(blocks, 8, async (b, i) => {
      if (i === 30) {
        await etcd.members[leader]!.kill("SIGKILL");
        killed = true;
      }
      if (await insertInto(steady, b, tally)) stored.push(b);
      await loadInto(steady, b, tally);
    });
    expect(killed).toBe(true);
    await inParallel(blocks, 8, (b) => loadInto(steady, b, tally, `${b.key}/suffix`));
    expect(tally.summary()).toBe("verified 240, wrong 0, misses 0, failures {}");
    expect(sdks.degraded).toEqual([]);
    await etcd.members[leader]!.restart();
    await waitFor(async () => (await Promise.all(etcd.endpoints.map((e) => isHealthy(e).catch(() => false)))).every(Boolean), { what: "all 3 members healthy again" });
  });
});

describe("etcd fully down, then back", () => {
  it(`lookups miss within etcd.requestTimeoutMs (${ETCD_TIMEOUT_MS} ms), strict lookups and inserts fail typed; all recover without restarting the SDK or the node`, async () => {
    expect(stored.length).toBeGreaterThan(0);
    await Promise.all(etcd.members.map((m) => m.kill("SIGKILL")));
    const degradedBefore = sdks.degraded.length;

    const outage = new Tally();
    await Promise.all(stored.slice(0, 5).map(async (b) => {
      const started = Date.now();
      expect(await loadInto(client, b, outage)).toBe("miss");
      expect(Date.now() - started).toBeLessThanOrEqual(ETCD_TIMEOUT_MS + 1500);
      expect(await loadInto(strict, b, outage)).toBe("failed");
      expect(await insertInto(client, { key: `down/${b.key}`, seed: 1, size: 10 }, outage)).toBe(false);
    }));
    expect(outage.misses).toBe(5);
    expect(outage.wrong).toBe(0);
    expect(outage.untyped).toBe(0);
    expect(outage.failed).toBe(10);
    for (const code of outage.failures.keys()) expect([ErrorCode.ETCD_UNAVAILABLE, ErrorCode.TIMEOUT]).toContain(code);
    expect(sdks.degraded.length - degradedBefore).toBe(5);

    await Promise.all(etcd.members.map((m) => m.restart()));
    const fresh: TestBlock = { key: "after-outage/0", seed: 42, size: 2 * KiB };
    await waitFor(() => insertInto(client, fresh, new Tally()), { what: "an insert to succeed again", timeoutMs: 60_000, intervalMs: 250 });
    await seesNodes(client, 1);
    const after = new Tally();
    await inParallel([...stored, fresh], 8, (b) => loadInto(client, b, after));
    await inParallel([...stored, fresh], 8, (b) => loadInto(strict, b, after));
    expect(after.summary()).toBe(`verified ${2 * (stored.length + 1)}, wrong 0, misses 0, failures {}`);
    expect(node.pid).toBeGreaterThan(0);
  });
});
