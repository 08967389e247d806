import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { connect as connectTcp } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeerClient } from "../../sdk/peer-client.js";
import { peerSecurity } from "../../sdk/peer-security.js";
import { DatenLordSDK, ErrorCode, KvCacheError, type KvCacheClient } from "../../sdk/index.js";
import { makeBlock, newBlockId } from "../../src/block.js";
import { encodeBlockTag } from "../../src/block-tag.js";
import { loadConfig, type ConfigOverrides } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { DiskTier } from "../../storage/disk-tier.js";
import { S3Tier } from "../../storage/s3-tier.js";
import { testConfigOverrides, testS3, uniqueName } from "../helpers/env.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { deletePrefix, listKeys, testS3Config } from "../helpers/s3-objects.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { makeTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitFor } from "../helpers/wait-for.js";
import { blockBytes } from "./cluster-fixtures.js";
import { httpsGet, listFiles, spawnNode, type SpawnedNode } from "./security-fixtures.js";

const SECRET_A = `node-a-secret-${uniqueName("s")}`;
const SECRET_B = `node-b-secret-${uniqueName("s")}`;
const S3_SECRET = `s3-secret-key-${uniqueName("k")}`;
const KiB = 1024;
const HEADER_TIMEOUT_MS = 3000;

let certs: TestCerts;
let a: { node: SpawnedNode; config: ConfigOverrides };
let b: { node: SpawnedNode; config: ConfigOverrides };
const sdks: DatenLordSDK[] = [];

/** Node A: auth + TLS data path + /metrics on its own address; memory small enough that blocks reach disk. */
function configA(): ConfigOverrides {
  return testConfigOverrides({
    namespace: uniqueName("sec-a"),
    auth: { secret: SECRET_A },
    tls: { enabled: true, certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, caFile: certs.caFile },
    node: { metricsHost: "127.0.0.1", metricsPort: 0, headerTimeoutMs: HEADER_TIMEOUT_MS },
    memory: { capacityBytes: 64 * KiB },
    cluster: { requestTimeoutMs: 10_000 },
  });
}

/**
 * Node B: https admin; its auth secret and S3 secret key come from the
 * environment only; every block is uploaded to S3 (write-through) and moves
 * memory → disk. Local tiers hold all the test writes, so the test also holds
 * against an S3 that refuses the made-up secret key (s3rver does not check it).
 */
function configB(): ConfigOverrides {
  const base = testConfigOverrides({
    namespace: uniqueName("sec-b"),
    node: { adminTls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile } },
    memory: { capacityBytes: 64 * KiB },
    disk: { capacityBytes: 512 * KiB },
    cluster: { writeThrough: true, requestTimeoutMs: 10_000 },
  });
  const { secretAccessKey: _fromEnvOnly, ...s3 } = base.s3!;
  return { ...base, s3 };
}

async function connect(config: ConfigOverrides, extra: ConfigOverrides = {}): Promise<KvCacheClient> {
  const sdk = new DatenLordSDK({ env: {}, options: { ...config, ...extra } });
  sdks.push(sdk);
  return sdk.connect();
}

async function rejection(p: Promise<unknown>): Promise<KvCacheError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KvCacheError);
  return err as KvCacheError;
}

/** The value of a counter line on a /metrics page (0 when absent). */
function metric(page: string, name: string, labels: string): number {
  const line = page.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function scrapeA(): Promise<string> {
  return (await fetch(`http://${a.node.metricsAddress}/metrics`)).text();
}

beforeAll(async () => {
  certs = await makeTestCerts();
  const [ca, cb] = [configA(), configB()];
  const [na, nb] = await Promise.all([
    spawnNode(ca),
    spawnNode(cb, { DATENLORD_AUTH_SECRET: SECRET_B, DATENLORD_S3_SECRET_ACCESS_KEY: S3_SECRET }),
  ]);
  a = { node: na, config: ca };
  b = { node: nb, config: { ...cb, auth: { secret: SECRET_B } } };
}, 120_000);

afterAll(async () => {
  for (const n of [a?.node, b?.node]) if (n?.crashed()) console.error(`node ${n.nodeId} exited during the tests:\n${n.output().slice(-4000)}`);
  await Promise.all(sdks.map((s) => s.close()));
  await Promise.all([a?.node.stop(), b?.node.stop()]);
  const s3 = makeTestS3Client(testS3());
  for (const c of [a?.config, b?.config]) if (c?.s3?.prefix !== undefined) await deletePrefix(s3, testS3().bucket, `${c.s3.prefix}/`);
  s3.destroy();
  await certs?.stop();
}, 60_000);

describe("a node with a cluster secret, TLS on the data path and a separate metrics address", () => {
  it("an SDK with the secret, over TLS, inserts 40 blocks and loads all 40 byte-identical", async () => {
    const client = await connect(a.config);
    const keys = Array.from({ length: 40 }, (_, i) => `tls/${i}`);
    await client.insertMany(keys.map((key, i) => ({ key, data: blockBytes(i, 4 * KiB + i) })));
    const hits = await client.tryLoadMany(keys.map((k) => `${k}/more`));
    const verified = hits.filter((h, i) => h !== null && h.matchedPrefix === keys[i] && h.data.equals(blockBytes(i, 4 * KiB + i))).length;
    expect(verified).toBe(40);
  });

  it("SDKs without the secret or with a wrong one: inserts fail ERR_AUTH, lookups miss (strict: throw), nothing is stored, each failure is counted", async () => {
    const good = await connect(a.config);
    await good.insert("auth/present", "stored with the secret");
    const itemsBefore = (await good.stats()).nodes.map((n) => ("tiers" in n ? n.tiers["memory"]!.items + (n.tiers["disk"]?.items ?? 0) : -1));
    const before = await scrapeA();
    for (const secret of ["", "a-wrong-secret-of-enough-length"]) {
      const client = await connect(a.config, { auth: { secret } });
      expect((await rejection(client.insert(`auth/${secret || "none"}`, "must not be stored"))).code).toBe(ErrorCode.AUTH);
      const degraded: string[] = [];
      client.on("degraded", (e) => degraded.push(String((e.error.cause as KvCacheError | undefined)?.code ?? e.error.code)));
      expect(await client.tryLoad("auth/present")).toBeNull();
      expect(degraded).toEqual([ErrorCode.AUTH]);
      const strict = await connect(a.config, { auth: { secret }, sdk: { strict: true } });
      expect(await rejection(strict.tryLoad("auth/present"))).toBeInstanceOf(KvCacheError);
    }
    expect(await good.tryLoad("auth/none")).toBeNull();
    const itemsAfter = (await good.stats()).nodes.map((n) => ("tiers" in n ? n.tiers["memory"]!.items + (n.tiers["disk"]?.items ?? 0) : -1));
    expect(itemsAfter).toEqual(itemsBefore);
    const after = await scrapeA();
    expect(metric(after, "kvcache_auth_failures_total", 'reason="missing"') - metric(before, "kvcache_auth_failures_total", 'reason="missing"')).toBeGreaterThanOrEqual(3);
    expect(metric(after, "kvcache_auth_failures_total", 'reason="wrong"') - metric(before, "kvcache_auth_failures_total", 'reason="wrong"')).toBeGreaterThanOrEqual(3);
  });

  it("a client without TLS, and one trusting another CA, are refused with typed errors and counted", async () => {
    const before = metric(await scrapeA(), "kvcache_connections_refused_total", 'reason="tls"');
    const plain = await connect(a.config, { tls: { enabled: false } });
    expect((await rejection(plain.insert("tls/plain", "x"))).code).toBe(ErrorCode.NODE);
    const untrusting = await connect(a.config, { tls: { ...a.config.tls, caFile: certs.otherCaFile } });
    const err = await rejection(untrusting.insert("tls/other-ca", "x"));
    expect(err.code).toBe(ErrorCode.NODE);
    // The node counts a failed handshake when its TLS layer reports it, which can be after the client has its error.
    await waitFor(async () => metric(await scrapeA(), "kvcache_connections_refused_total", 'reason="tls"') - before >= 2, { what: "both refusals counted" });
  });

  it(`a connection that stalls before finishing its handshake is closed after node.headerTimeoutMs (${HEADER_TIMEOUT_MS} ms) and counted`, async () => {
    const before = metric(await scrapeA(), "kvcache_connections_refused_total", 'reason="tls"');
    const [host, port] = [a.node.address.split(":")[0]!, Number(a.node.address.split(":")[1])];
    const socket = connectTcp({ host, port });
    socket.on("error", () => undefined);
    await once(socket, "connect");
    const openedAt = Date.now();
    socket.write(Buffer.from([0x16, 0x03, 0x01])); // the first bytes of a TLS record, then nothing
    await once(socket, "close");
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 100);
    expect(metric(await scrapeA(), "kvcache_connections_refused_total", 'reason="tls"') - before).toBe(1);
  });

  it("/metrics and /dashboard answer only on the metrics address; the admin port keeps /healthz and /readyz", async () => {
    const status = async (address: string, path: string) => (await fetch(`http://${address}${path}`)).status;
    expect(a.node.metricsAddress).not.toBe(a.node.adminAddress);
    expect(await status(a.node.metricsAddress, "/metrics")).toBe(200);
    expect(await status(a.node.metricsAddress, "/dashboard")).toBe(200);
    expect(await status(a.node.adminAddress, "/metrics")).toBe(404);
    expect(await status(a.node.adminAddress, "/dashboard")).toBe(404);
    expect(await status(a.node.adminAddress, "/healthz")).toBe(200);
    expect(await status(a.node.adminAddress, "/readyz")).toBe(200);
  });

  it("a PUT whose tag names a path-traversal namespace is refused and leaves no file and no object; ids cannot carry a path", async () => {
    const config = loadConfig({ overrides: a.config, env: {} });
    const peer = new PeerClient({ nodeId: a.node.nodeId, address: a.node.address, timeoutMs: 10_000, limits: config.limits, ...peerSecurity(config) });
    const key = encodeKey("k", config.limits.maxKeyBytes);
    const hostile = ["../../../../tmp/evil", "a/../../b", "..", "x\u0000y"];
    const ids = hostile.map(() => newBlockId());
    for (const [i, namespace] of hostile.entries()) {
      const err = await rejection(peer.put(ids[i]!, makeBlock(Buffer.alloc(96 * KiB, 1), encodeBlockTag({ namespace, key }))));
      expect(err.details["remoteCode"], namespace).toBe(ErrorCode.INVALID_ARGUMENT);
      expect(await peer.get(ids[i]!)).toBeUndefined();
    }
    // The id field is 16 raw bytes: bytes spelling a path are just an id, filed inside the directory.
    const pathBytes = Buffer.from("../../etc/passwd").toString("hex");
    await peer.put(pathBytes, makeBlock(Buffer.alloc(96 * KiB, 2), encodeBlockTag({ namespace: config.namespace, key })));
    await peer.close();
    const files = await listFiles(a.node.diskDirectory);
    expect(files.every((f) => /^blocks\/[0-9a-f]{2}\/[0-9a-f]{32}$/.test(f)), files.join(",")).toBe(true);
    expect(files).toContain(`blocks/2e/${pathBytes}`);
    expect(files.filter((f) => ids.some((id) => f.endsWith(id)))).toEqual([]);
    const objects = await listKeys(makeTestS3Client(testS3()), testS3().bucket, `${config.s3.prefix}/`);
    expect(objects.filter((o) => ids.some((id) => o.endsWith(id)))).toEqual([]);
  });
});

describe("tiers refuse block ids that are not 32 hex characters", () => {
  it("the disk and S3 tiers reject path-traversal ids with ERR_INVALID_ARGUMENT and write nothing", async () => {
    const dir = await makeTempDir("datenlord-traversal-");
    const prefix = uniqueName("traversal");
    const disk = await DiskTier.open({ directory: `${dir}/disk`, capacityBytes: 1 << 20 });
    const s3 = new S3Tier({ config: testS3Config(testS3(), prefix), namespace: "ns" });
    const ids = ["../../etc/passwd", "../x", `${"a".repeat(30)}/.`, "/".repeat(32)];
    try {
      for (const id of ids) {
        for (const tier of [disk, s3]) expect((await rejection(tier.put(id, makeBlock(Buffer.from("x"))))).code).toBe(ErrorCode.INVALID_ARGUMENT);
      }
      expect(await listFiles(dir)).toEqual([]);
      expect(await listKeys(makeTestS3Client(testS3()), testS3().bucket, `${prefix}/`)).toEqual([]);
    } finally {
      await Promise.all([disk.close(), s3.close()]);
      await removeDir(dir);
    }
  });
});

describe("a node with https admin, secrets given only through the environment", () => {
  it("serves /healthz and /metrics over https to a client trusting the CA, and refuses plain http", async () => {
    const ca = await readFile(certs.caFile);
    expect((await httpsGet(`https://${b.node.adminAddress}/healthz`, ca)).status).toBe(200);
    expect((await httpsGet(`https://${b.node.adminAddress}/metrics`, ca)).body).toContain("kvcache_");
    await expect(fetch(`http://${b.node.adminAddress}/healthz`)).rejects.toThrow();
  });

  it("the auth secret and the S3 secret key appear nowhere in the node's logs or /metrics after inserts, demotions, uploads and auth failures", async () => {
    const client = await connect(b.config);
    const keys = Array.from({ length: 30 }, (_, i) => `leak/${i}`);
    await client.insertMany(keys.map((key, i) => ({ key, data: blockBytes(100 + i, 8 * KiB) })));
    const hits = await client.tryLoadMany(keys);
    expect(hits.filter((h, i) => h?.data.equals(blockBytes(100 + i, 8 * KiB))).length).toBe(30);
    const intruder = await connect(b.config, { auth: { secret: `${SECRET_B}-guess` } });
    expect((await rejection(intruder.insert("leak/x", "x"))).code).toBe(ErrorCode.AUTH);
    const page = (await httpsGet(`https://${b.node.metricsAddress}/metrics`, await readFile(certs.caFile))).body;
    const output = b.node.output();
    expect(output).toContain("client failed authentication");
    for (const secret of [SECRET_B, S3_SECRET]) {
      expect(output.includes(secret), "secret in the node's output").toBe(false);
      expect(page.includes(secret), "secret in /metrics").toBe(false);
    }
    expect(a.node.output().includes(SECRET_A)).toBe(false);
  });
});
