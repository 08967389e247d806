import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { ErrorCode, KvCacheError, type KvCacheClient } from "../../sdk/index.js";
import { expectCode, harness, storedBlocks, text } from "./sdk-harness.js";

describe("SDK core: lifecycle", () => {
  it("every operation after close throws ERR_CLOSED; close is idempotent", async () => {
    const h = await harness();
    await h.client.close();
    await h.client.close();
    await expectCode(h.client.insert("k", "x"), ErrorCode.CLOSED);
    await expectCode(h.client.tryLoad("k"), ErrorCode.CLOSED);
    await expectCode(h.client.tryLoad(""), ErrorCode.CLOSED);
    await expectCode(h.client.stats(), ErrorCode.CLOSED);
    await h.sdk.close();
    await h.sdk.close();
    await expectCode(h.sdk.connect(), ErrorCode.CLOSED);
    expect(h.peers.every((p) => p.closed)).toBe(true);
  });

  it("await using closes the client; sdk.close() closes every client", async () => {
    const h = await harness();
    let escaped: KvCacheClient;
    {
      await using client = await h.sdk.connect();
      escaped = client;
      await client.insert("u", "x");
    }
    expect(escaped.closed).toBe(true);
    const other = await h.sdk.connect();
    await h.sdk.close();
    expect(other.closed).toBe(true);
    expect(h.client.closed).toBe(true);
  });

  it("close waits for operations in flight", async () => {
    const h = await harness();
    const pending = h.client.insert("slow", Buffer.alloc(100));
    await h.client.close();
    await expect(pending).resolves.toEqual({ inserted: true });
  });
});

describe("SDK core: failures", () => {
  it("a failing holder is skipped; the block loads from the other replica", async () => {
    const h = await harness();
    await h.client.insert("f", "data");
    for (const p of h.peers) if (p.blocks.size > 0) { p.mode = "hang"; break; }
    expect(text((await h.client.tryLoad("f"))?.data)).toBe("data");
    expect(h.events).toEqual([]);
  });

  it("a copy with the wrong checksum is never returned", async () => {
    const h = await harness();
    await h.client.insert("c", "data");
    for (const p of h.peers) p.mode = "corrupt";
    expect(await h.client.tryLoad("c")).toBeNull();
    expect(h.events.map((e) => e.error.code)).toEqual([ErrorCode.NO_NODES]);
  });

  it("a block no node can produce is a degraded miss, counted and emitted", async () => {
    const h = await harness({}, { registry: new Registry() });
    await h.client.insert("gone", "data");
    for (const p of h.peers) p.blocks.clear();
    expect(await h.client.tryLoad("gone/x")).toBeNull();
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ op: "tryLoad", error: { code: ErrorCode.NO_NODES } });
    const metrics = await h.sdk.registry.metrics();
    expect(metrics).toMatch(/kvcache_sdk_degraded_total\{op="tryLoad",code="ERR_NO_NODES"\} 1/);
    expect(metrics).toMatch(/kvcache_requests_total\{op="tryLoad",result="degraded"\} 1/);
  });

  it("metadata down: tryLoad degrades to a miss, insert throws", async () => {
    const h = await harness();
    h.metadataDown = true;
    expect(await h.client.tryLoad("x")).toBeNull();
    expect(await h.client.matchPrefix("x")).toBeNull();
    expect(h.events.map((e) => e.op)).toEqual(["tryLoad", "matchPrefix"]);
    await expectCode(h.client.insert("x", "y"), ErrorCode.ETCD_UNAVAILABLE);
  });

  it("strict mode throws the typed error instead", async () => {
    const h = await harness({ sdk: { strict: true } });
    await h.client.insert("gone", "data");
    for (const p of h.peers) p.blocks.clear();
    await expectCode(h.client.tryLoad("gone"), ErrorCode.NO_NODES);
    h.metadataDown = true;
    await expectCode(h.client.tryLoad("x"), ErrorCode.ETCD_UNAVAILABLE);
    expect(h.events).toEqual([]);
  });

  it("a hung node costs at most the request deadline", async () => {
    const h = await harness({ cluster: { replicas: 3, requestTimeoutMs: 100 } });
    await h.client.insert("h", "data");
    for (const p of h.peers) p.mode = "hang";
    const started = Date.now();
    expect(await h.client.tryLoad("h")).toBeNull();
    expect(Date.now() - started).toBeLessThan(3 * 100 + 500);
    expect(h.events[0]?.error.code).toBe(ErrorCode.NO_NODES);
  });

  it("insert: placed nodes failing → the next ranked node takes the block; none → typed error, nothing published", async () => {
    const h = await harness({ cluster: { replicas: 1, requestTimeoutMs: 200 } });
    h.peers[0]!.mode = "fail";
    h.peers[1]!.mode = "fail";
    for (let i = 0; i < 10; i++) await h.client.insert(`p${i}`, "x");
    expect(h.peers[2]!.blocks.size).toBe(10);
    h.peers[2]!.mode = "fail";
    await expectCode(h.client.insert("none", "x"), ErrorCode.NODE);
    expect(await h.client.matchPrefix("none")).toBeNull();
    h.directory.members.clear();
    await expectCode(h.client.insert("none", "x"), ErrorCode.NO_NODES);
  });

  it("metadata failing after the put: the copies are deleted and the error thrown", async () => {
    const h = await harness();
    const original = h.metadata.insertIfAbsent.bind(h.metadata);
    h.metadata.insertIfAbsent = () => Promise.reject(new KvCacheError(ErrorCode.ETCD, "write failed"));
    await expectCode(h.client.insert("k", "x"), ErrorCode.ETCD);
    expect(storedBlocks(h)).toBe(0);
    h.metadata.insertIfAbsent = original;
  });
});

describe("SDK stats and metrics", () => {
  it("stats lists every live node, with the error of one that fails", async () => {
    const h = await harness();
    await h.client.insert("s", "abc");
    h.peers[2]!.mode = "fail";
    const stats = await h.client.stats();
    expect(stats.mode).toBe("cluster");
    expect(stats.nodes.map((n) => n.nodeId)).toEqual(["n1", "n2", "n3"]);
    expect(stats.nodes[2]).toMatchObject({ error: { code: ErrorCode.NODE } });
    expect((await h.client.nodes()).map((n) => n.nodeId)).toEqual(["n1", "n2", "n3"]);
  });

  it("reports requests, hit ratio and matched prefix length on the injected registry", async () => {
    const registry = new Registry();
    const h = await harness({}, { registry });
    await h.client.insert([1, 2, 3], "t");
    await h.client.tryLoad([1, 2, 3, 4]);
    await h.client.tryLoad([9]);
    const text = await registry.metrics();
    expect(text).toMatch(/kvcache_requests_total\{op="tryLoad",result="hit"\} 1/);
    expect(text).toMatch(/kvcache_requests_total\{op="tryLoad",result="miss"\} 1/);
    expect(text).toMatch(/kvcache_requests_total\{op="insert",result="ok"\} 1/);
    expect(text).toMatch(/kvcache_sdk_hit_ratio 0\.5/);
    expect(text).toMatch(/kvcache_sdk_matched_prefix_length_sum\{kind="tok"\} 3/);
    expect(text).toMatch(/kvcache_op_duration_seconds_count\{op="tryLoad"\} 2/);
  });
});
