import { describe, expect, it, onTestFinished } from "vitest";
import { CacheMetrics } from "../../src/metrics.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { descriptor, freshNamespace, str } from "../contract/metadata-contract.js";
import { stopAfterTest } from "../helpers/cleanup.js";
import { startEtcdCluster } from "../helpers/etcd-cluster.js";
import { isHealthy, type EtcdProcess } from "../helpers/etcd-process.js";
import { waitFor } from "../helpers/wait-for.js";
import { testEtcdConfig } from "./etcd-metadata-fixture.js";

/** The member that is the Raft leader now, through etcd's JSON gateway. */
async function findLeader(members: readonly EtcdProcess[]): Promise<EtcdProcess | undefined> {
  const statuses = await Promise.all(members.map(async (m) => {
    const res = await fetch(`${m.endpoint}/v3/maintenance/status`, { method: "POST", body: "{}" });
    return (await res.json()) as { header: { member_id: string }; leader: string };
  }));
  return members.find((_, i) => statuses[i]!.header.member_id === statuses[i]!.leader);
}

/** Workers that insert keys and look them up until stopped, recording every failure. */
function startWorkload(store: EtcdMetadataStore, ns: string, workers: number) {
  const state = { ops: 0, errors: [] as unknown[], written: [] as string[], stopped: false };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; !state.stopped; i++) {
      const key = `w${w}/k${String(i).padStart(5, "0")}`;
      try {
        await store.insertIfAbsent(ns, str(key), descriptor(i));
        state.written.push(key);
        const hit = await store.longestPrefix(ns, str(`${key}/and/more`));
        if (hit?.key === undefined || Buffer.from(hit.key.bytes).toString() !== key) throw new Error(`lookup of ${key} found ${String(hit?.key && Buffer.from(hit.key.bytes))}`);
        state.ops += 2;
      } catch (err) {
        state.errors.push(err);
      }
    }
  });
  return { state, stop: async () => { state.stopped = true; await Promise.all(loops); } };
}

describe("EtcdMetadataStore on a 3-member Raft cluster", () => {
  it("keeps serving lookups and inserts while the leader is SIGKILLed, and the member rejoins with the data", async () => {
    const cluster = stopAfterTest(await startEtcdCluster(3));
    const config = testEtcdConfig({ endpoints: cluster.endpoints, requestTimeoutMs: 10_000 });
    const metrics = new CacheMetrics();
    const store = await EtcdMetadataStore.connect({ config, metrics });
    onTestFinished(() => store.close());
    const ns = freshNamespace();
    const workload = startWorkload(store, ns, 4);
    onTestFinished(() => workload.stop());

    await waitFor(() => workload.state.ops >= 40, { what: "the workload to get going", timeoutMs: 20_000 });
    const victim = await waitFor(() => findLeader(cluster.members), { what: "a leader", timeoutMs: 10_000 });
    await victim.kill("SIGKILL");
    const opsAtKill = workload.state.ops;
    await waitFor(() => workload.state.ops >= opsAtKill + 100, { what: "100 operations after the leader died", timeoutMs: 30_000 });

    await victim.restart();
    await waitFor(() => isHealthy(victim.endpoint), { what: `${victim.name} healthy again`, timeoutMs: 30_000 });
    await waitFor(() => workload.state.ops >= opsAtKill + 200, { what: "100 more operations after the restart", timeoutMs: 30_000 });
    await workload.stop();
    expect(workload.state.errors).toEqual([]);
    // The store did meet the failure (a third of the calls went to the dead member) and absorbed it by retrying.
    const absorbed = (await metrics.backendErrors.get()).values.find((v) => v.labels.code === "ERR_ETCD_UNAVAILABLE")?.value ?? 0;
    expect(absorbed).toBeGreaterThan(0);

    // The restarted member alone serves everything written, including what was written while it was down.
    const solo = await EtcdMetadataStore.connect({ config: { ...config, endpoints: [victim.endpoint] } });
    onTestFinished(() => solo.close());
    const seen = new Set<string>();
    for await (const { namespace, entry } of solo.entries({ pageSize: 100 })) if (namespace === ns) seen.add(Buffer.from(entry.key.bytes).toString());
    expect(workload.state.written.filter((k) => !seen.has(k))).toEqual([]);
    expect(seen.size).toBe(workload.state.written.length);
  });
});
