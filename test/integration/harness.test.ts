import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { Etcd3 } from "etcd3";
import { createServer, type AddressInfo } from "node:net";
import { afterAll, describe, expect, it, onTestFinished, vi } from "vitest";
import { stopAfterTest } from "../helpers/cleanup.js";
import { startEtcdCluster } from "../helpers/etcd-cluster.js";
import { isHealthy, startEtcd } from "../helpers/etcd-process.js";
import { testEtcdEndpoints, testS3, uniqueName } from "../helpers/env.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { waitFor } from "../helpers/wait-for.js";

describe("shared etcd (global setup)", () => {
  it("answers a put and a get through etcd3", async () => {
    const client = new Etcd3({ hosts: testEtcdEndpoints() });
    try {
      const key = `/${uniqueName("harness")}/k`;
      await client.put(key).value("v1");
      expect(await client.get(key).string()).toBe("v1");
      await client.delete().key(key);
    } finally {
      client.close();
    }
  });
});

describe("shared S3 (global setup)", () => {
  const s3 = testS3();
  const client = makeTestS3Client(s3);
  afterAll(() => client.destroy());

  it("round-trips a streamed PUT byte-identical and lists it", async () => {
    const prefix = uniqueName("harness");
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const chunks = Array.from({ length: 4 }, (_, i) => body.subarray((i * body.length) / 4, ((i + 1) * body.length) / 4));
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/blob`, Body: Readable.from(chunks), ContentLength: body.length }));
    const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/blob` }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(body)).toBe(true);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([[`${prefix}/blob`, body.length]]);
  });
});

describe("startEtcdCluster", () => {
  it("elects a leader and survives SIGKILL of a member and its restart", async () => {
    const cluster = stopAfterTest(await startEtcdCluster(3));
    const client = new Etcd3({ hosts: cluster.endpoints });
    try {
      const leaders = await leadersSeen(cluster.endpoints);
      expect(new Set(leaders).size, `leaders seen: ${leaders.join(", ")}`).toBe(1);
      expect(leaders[0]).not.toBe("0");
      await client.put("k").value("before");
      const victim = cluster.members[0]!;
      await victim.kill("SIGKILL");
      const survivors = cluster.members.slice(1).map((m) => m.endpoint);
      await waitFor(async () => (await Promise.all(survivors.map(isHealthy))).every(Boolean), { what: "the two survivors to elect a leader", timeoutMs: 20_000 });
      await client.put("k").value("during");
      await victim.restart();
      expect(await isHealthy(victim.endpoint)).toBe(true);
      await waitFor(async () => (await readFrom(victim.endpoint, "k")) === "during", { what: "the restarted member to catch up", timeoutMs: 20_000 });
    } finally {
      client.close();
    }
  });
});

describe("startEtcd with goMaxProcs", () => {
  it("runs etcd with that GOMAXPROCS (the bench's etcd on one core), and it serves", async () => {
    const etcd = stopAfterTest(await startEtcd({ goMaxProcs: 1 }));
    const environ = readFileSync(`/proc/${etcd.pid}/environ`, "utf8").split("\0");
    expect(environ).toContain("GOMAXPROCS=1");
    expect(environ.filter((v) => v.startsWith("GOMAXPROCS="))).toHaveLength(1);
    const client = new Etcd3({ hosts: [etcd.endpoint] });
    try {
      await client.put("k").value("one core");
      expect(await client.get("k").string()).toBe("one core");
    } finally {
      client.close();
    }
  });
});

describe("startEtcd when etcd cannot start", () => {
  it("fails fast with etcd's own error when its peer port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as AddressInfo).port;
    const started = Date.now();
    await expect(startEtcd({ peerPort: port })).rejects.toThrow(/before it was ready[\s\S]*address already in use/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("fails with the install message", async () => {
    vi.stubEnv("ETCD_BIN", "/nonexistent/etcd");
    try {
      await expect(startEtcd()).rejects.toThrow("etcd not found: install it with `apt-get install -y etcd-server` (Debian) or set ETCD_BIN, or point ETCD_ENDPOINTS at a running etcd");
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

/** The leader id each member reports, through etcd's JSON gateway (one request per member). */
async function leadersSeen(endpoints: string[]): Promise<string[]> {
  return Promise.all(endpoints.map(async (endpoint) => {
    const res = await fetch(`${endpoint}/v3/maintenance/status`, { method: "POST", body: "{}" });
    return ((await res.json()) as { leader: string }).leader;
  }));
}

/** Reads from one member only, serializably (its local state), to see that it caught up. */
async function readFrom(endpoint: string, key: string): Promise<string | null> {
  const one = new Etcd3({ hosts: [endpoint] });
  try {
    return await one.get(key).serializable(true).string();
  } finally {
    one.close();
  }
}
