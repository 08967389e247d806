import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newBlockId } from "../../src/block.js";
import type { DashboardSummary } from "../../src/node/dashboard/summary.js";
import { nodeCluster } from "../helpers/node-fixtures.js";
import { freePort } from "../helpers/ports.js";
import { has, scrape, valueOf } from "./metrics-fixtures.js";

const BLOCK = 8 * 1024;
const NO_SWEEP = { sweepIntervalMs: 3_600_000 };

describe("node /metrics", () => {
  it("matches a known workload exactly: requests, per-tier hits, misses, bytes, items and moves", async () => {
    // Memory holds exactly 4 blocks, so the 5th and 6th PUTs demote the two oldest to disk.
    const cluster = await nodeCluster({ memory: { capacityBytes: 4 * BLOCK }, disk: { capacityBytes: 64 * BLOCK }, cluster: NO_SWEEP });
    const node = await cluster.startNode();
    const peer = cluster.client(node);
    const blocks = [];
    for (let i = 0; i < 6; i++) blocks.push(await cluster.insert(peer, `metrics/${i}`, randomBytes(BLOCK)));
    expect(await peer.get(blocks[5]!.id)).toBeDefined(); // memory hit
    expect(await peer.get(blocks[0]!.id)).toBeDefined(); // disk hit, promoted: evicts blocks[2] (LRU) to disk
    expect(await peer.get(newBlockId())).toBeUndefined(); // miss in every tier
    expect(await peer.get(newBlockId())).toBeUndefined();
    await peer.delete(blocks[3]!.id);

    const m = await scrape(node.adminUrl);
    const v = (name: string, labels: Record<string, string> = {}): number => valueOf(m, name, labels);
    expect(v("kvcache_requests_total", { op: "node_put", result: "ok" })).toBe(6);
    expect(v("kvcache_requests_total", { op: "node_get", result: "hit" })).toBe(2);
    expect(v("kvcache_requests_total", { op: "node_get", result: "miss" })).toBe(2);
    expect(v("kvcache_requests_total", { op: "node_delete", result: "ok" })).toBe(1);
    expect(v("kvcache_requests_total", { result: "error" })).toBe(0);
    expect(v("kvcache_op_duration_seconds_count", { op: "node_put" })).toBe(6);
    expect(v("kvcache_op_duration_seconds_count", { op: "node_get" })).toBe(4);
    expect(v("kvcache_op_duration_seconds_count", { op: "node_delete" })).toBe(1);
    expect(v("kvcache_op_duration_seconds_bucket", { op: "node_get", le: "+Inf" })).toBe(4);

    expect(tierValues(m, "kvcache_tier_hits_total")).toEqual({ memory: 1, disk: 1 });
    expect(tierValues(m, "kvcache_tier_hit_bytes_total")).toEqual({ memory: BLOCK, disk: BLOCK });
    expect(tierValues(m, "kvcache_tier_misses_total")).toEqual({ memory: 3, disk: 2, s3: 2 });
    expect(tierValues(m, "kvcache_tier_bytes")).toEqual({ memory: 3 * BLOCK, disk: 3 * BLOCK, s3: 0 });
    expect(tierValues(m, "kvcache_tier_items")).toEqual({ memory: 3, disk: 3, s3: 0 });
    expect(tierValues(m, "kvcache_tier_capacity_bytes")).toEqual({ memory: 4 * BLOCK, disk: 64 * BLOCK });
    expect(v("kvcache_block_moves_total", { from: "memory", to: "disk", reason: "demoted" })).toBe(3);
    expect(v("kvcache_block_moves_total", { from: "disk", to: "memory", reason: "promoted" })).toBe(1);
    expect(v("kvcache_block_moves_total")).toBe(4);
    expect(v("kvcache_checksum_failures_total")).toBe(0);
    expect(v("kvcache_backend_errors_total")).toBe(0);
    expect(v("kvcache_live_nodes")).toBe(1);
    expect(v("kvcache_etcd_requests_total")).toBeGreaterThan(0);
    for (const name of ["kvcache_process_cpu_user_seconds_total", "kvcache_process_resident_memory_bytes", "kvcache_nodejs_eventloop_lag_seconds"]) expect(has(m, name), name).toBe(true);

    // The dashboard's summary is computed from the same registry.
    const summary = (await (await fetch(`${node.adminUrl}/api/summary`)).json()) as DashboardSummary;
    expect(summary.gets).toEqual({ hits: 2, misses: 2, errors: 0, hitRatio: 0.5 });
    expect(summary.tiers.map((t) => [t.tier, t.bytes, t.items, t.capacityBytes])).toEqual([
      ["memory", 3 * BLOCK, 3, 4 * BLOCK], ["disk", 3 * BLOCK, 3, 64 * BLOCK], ["s3", 0, 0, null],
    ]);
    expect(summary.liveNodes.map((n) => [n.nodeId, n.self, n.dashboardUrl])).toEqual([[node.nodeId, true, `${node.adminUrl}/dashboard`]]);
    // Newest first; the promotion is reported once the eviction it caused has landed.
    expect(summary.events.map((e) => [e.reason, e.from, e.to, e.bytes])).toEqual([
      ["promoted", "disk", "memory", BLOCK], ["demoted", "memory", "disk", BLOCK], ["demoted", "memory", "disk", BLOCK], ["demoted", "memory", "disk", BLOCK],
    ]);
    expect(summary.events.map((e) => e.blockId)).toEqual([blocks[0]!.id, blocks[2]!.id, blocks[1]!.id, blocks[0]!.id]);
  });

  it("counts S3 failures by code and answers the GET as an error when S3 is unreachable", async () => {
    const deadS3 = `http://127.0.0.1:${await freePort()}`;
    const cluster = await nodeCluster({ disk: { directory: "" }, cluster: NO_SWEEP });
    const node = await cluster.startNode({ s3: { ...cluster.overrides.s3, endpoint: deadS3, requestTimeoutMs: 2000 }, disk: { directory: "" } });
    const peer = cluster.client(node);
    await expect(peer.get(newBlockId())).rejects.toThrow();
    const m = await scrape(node.adminUrl);
    expect(valueOf(m, "kvcache_requests_total", { op: "node_get", result: "error" })).toBe(1);
    expect(valueOf(m, "kvcache_tier_misses_total", { tier: "memory" })).toBe(1);
    const s3Errors = m.filter((s) => s.name === "kvcache_backend_errors_total" && s.labels["backend"] === "s3");
    expect(s3Errors.reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
    for (const s of s3Errors) expect(s.labels["code"]).toMatch(/^ERR_[A-Z0-9_]+$/);
  });
});

function tierValues(samples: Awaited<ReturnType<typeof scrape>>, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of samples) if (s.name === name) out[s.labels["tier"]!] = s.value;
  return out;
}
