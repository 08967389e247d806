import { Etcd3, Range } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatenLordSDK, ErrorCode, KvCacheError } from "../../sdk/index.js";
import { loadConfig, type ConfigOverrides, type EtcdConfig } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import type { BlockDescriptor } from "../../metadata/metadata-store.js";
import { findEtcdBinary } from "../helpers/etcd-binary.js";
import { startEtcd, type EtcdProcess } from "../helpers/etcd-process.js";
import { spawnChild, unlessExited, type ChildHandle } from "../helpers/child.js";
import { testConfigOverrides, uniqueName } from "../helpers/env.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { freePorts } from "../helpers/ports.js";
import { makeTempDir, removeDir } from "../helpers/temp-dir.js";
import { makeTestCerts, type TestCerts } from "../helpers/test-certs.js";
import { waitFor } from "../helpers/wait-for.js";

/**
 * etcd security through configuration: client-certificate TLS (etcd started
 * with --client-cert-auth and certificates made by openssl for this run) and
 * username/password auth (enabled through the etcd API), each on its own etcd.
 */
const ROOT_PASSWORD = `root-${uniqueName("pw")}`;
const USER_PASSWORD = `user-${uniqueName("pw")}`;
/** The prefix the auth etcd's `datenlord` user may use. */
const AUTH_PREFIX = `/${uniqueName("auth")}`;

let certs: TestCerts;
let tlsEtcd: { endpoint: string; stop(): Promise<void> };
let authEtcd: EtcdProcess;

/** etcd on https with client-certificate authentication. */
async function startTlsEtcd(c: TestCerts): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const [client, peer] = await freePorts(2);
  const dataDir = await makeTempDir("datenlord-etcd-tls-");
  const endpoint = `https://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const args = [
    "--name", "tls0", "--data-dir", dataDir, "--logger", "zap", "--log-level", "warn",
    "--listen-client-urls", endpoint, "--advertise-client-urls", endpoint,
    "--listen-peer-urls", peerUrl, "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", `tls0=${peerUrl}`,
    "--client-cert-auth", "--trusted-ca-file", c.caFile, "--cert-file", c.serverCertFile, "--key-file", c.serverKeyFile,
  ];
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")));
  const child: ChildHandle = spawnChild(await findEtcdBinary(), args, { env });
  const stop = async (): Promise<void> => {
    await child.kill("SIGKILL");
    await removeDir(dataDir);
  };
  try {
    await unlessExited(child, "etcd (TLS)", (signal) => waitFor(async () => {
      const store = await EtcdMetadataStore.connect({ config: etcdConfig({ endpoints: [endpoint], tls: tlsFiles(c) }) });
      await store.close();
      return true;
    }, { what: `etcd at ${endpoint} over TLS`, timeoutMs: 30_000, signal }));
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoint, stop };
}

function tlsFiles(c: TestCerts, overrides: Partial<EtcdConfig["tls"]> = {}): EtcdConfig["tls"] {
  return { caFile: c.caFile, certFile: c.clientCertFile, keyFile: c.clientKeyFile, ...overrides };
}

function etcdConfig(etcd: ConfigOverrides["etcd"]): EtcdConfig {
  return loadConfig({ overrides: { etcd: { rootPrefix: `/${uniqueName("sec")}`, requestTimeoutMs: 2000, ...etcd } }, env: {} }).etcd;
}

async function connectError(config: EtcdConfig): Promise<KvCacheError> {
  const err = await EtcdMetadataStore.connect({ config }).then(async (s) => {
    await s.close();
    return undefined;
  }, (e: unknown) => e);
  expect(err).toBeInstanceOf(KvCacheError);
  return err as KvCacheError;
}

/** A round trip through the store: insert a descriptor, read it back. */
async function roundTrip(config: EtcdConfig): Promise<BlockDescriptor | undefined> {
  const store = await EtcdMetadataStore.connect({ config });
  try {
    const key = encodeKey("secure/key", 1024);
    const descriptor: BlockDescriptor = { blockId: "ab".repeat(16), size: 1, checksum: 1, holders: ["n"], s3: false, createdAt: 1 };
    await store.insertIfAbsent("ns", key, descriptor);
    return (await store.get("ns", key))?.descriptor;
  } finally {
    await store.close();
  }
}

/** Turns on etcd auth: a root user, and `datenlord` allowed only under `prefix`. */
async function enableAuth(endpoint: string, prefix: string): Promise<void> {
  const admin = new Etcd3({ hosts: [endpoint] });
  try {
    await admin.role("kvcache").create();
    await admin.role("kvcache").grant({ permission: "Readwrite", range: Range.prefix(`${prefix}/`) });
    await admin.user("datenlord").create(USER_PASSWORD);
    await admin.user("datenlord").addRole("kvcache");
    await admin.role("root").create().catch(() => undefined);
    await admin.user("root").create(ROOT_PASSWORD);
    await admin.user("root").addRole("root");
    await admin.auth.authEnable();
  } finally {
    admin.close();
  }
}

beforeAll(async () => {
  certs = await makeTestCerts();
  [tlsEtcd, authEtcd] = await Promise.all([startTlsEtcd(certs), startEtcd({ name: "auth0" })]);
  await enableAuth(authEtcd.endpoint, AUTH_PREFIX);
}, 90_000);

afterAll(async () => {
  await Promise.all([tlsEtcd?.stop(), authEtcd?.stop()]);
  await certs?.stop();
});

describe("etcd with TLS client certificates (--client-cert-auth)", () => {
  it("the store connects with the CA and a client certificate; without the certificate, or trusting another CA, it fails with a typed error", async () => {
    const ok = await roundTrip(etcdConfig({ endpoints: [tlsEtcd.endpoint], tls: tlsFiles(certs) }));
    expect(ok?.blockId).toBe("ab".repeat(16));
    const noCert = await connectError(etcdConfig({ endpoints: [tlsEtcd.endpoint], tls: tlsFiles(certs, { certFile: "", keyFile: "" }) }));
    expect([ErrorCode.ETCD_UNAVAILABLE, ErrorCode.ETCD, ErrorCode.TIMEOUT]).toContain(noCert.code);
    const otherCa = await connectError(etcdConfig({ endpoints: [tlsEtcd.endpoint], tls: tlsFiles(certs, { caFile: certs.otherCaFile }) }));
    expect([ErrorCode.ETCD_UNAVAILABLE, ErrorCode.ETCD, ErrorCode.TIMEOUT]).toContain(otherCa.code);
    const missing = await connectError(etcdConfig({ endpoints: [tlsEtcd.endpoint], tls: tlsFiles(certs, { keyFile: "/nonexistent/key.pem" }) }));
    expect(missing.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(missing.details["key"]).toBe("etcd.tls.keyFile");
  });

  it("a node process and an SDK configured for that etcd store and load 10 blocks", async () => {
    const config = testConfigOverrides({ namespace: uniqueName("etcd-tls"), etcd: { endpoints: [tlsEtcd.endpoint], tls: tlsFiles(certs) } });
    let node: NodeProcess | undefined;
    const sdk = new DatenLordSDK({ env: {}, options: config });
    try {
      node = await startNodeProcess({ configOverrides: config, startTimeoutMs: 60_000 });
      const client = await sdk.connect();
      await waitFor(async () => (await client.nodes()).length === 1, { what: "the node in membership" });
      await client.insertMany(Array.from({ length: 10 }, (_, i) => ({ key: `tls-etcd/${i}`, data: `block ${i}` })));
      const hits = await client.tryLoadMany(Array.from({ length: 10 }, (_, i) => `tls-etcd/${i}`));
      expect(hits.filter((h, i) => h?.data.toString() === `block ${i}`).length).toBe(10);
    } finally {
      await sdk.close();
      await node?.stop();
    }
  });
});

describe("etcd with username/password authentication", () => {
  it("a user limited to the root prefix works; a wrong password or no user is refused with a typed, non-retryable error", async () => {
    const base = { endpoints: [authEtcd.endpoint], rootPrefix: AUTH_PREFIX };
    const ok = await roundTrip(etcdConfig({ ...base, username: "datenlord", password: USER_PASSWORD }));
    expect(ok?.blockId).toBe("ab".repeat(16));
    const wrong = await connectError(etcdConfig({ ...base, username: "datenlord", password: `${USER_PASSWORD}-x` }));
    expect(wrong.code).toBe(ErrorCode.ETCD);
    expect(wrong.retryable).toBe(false);
    expect(wrong.message).not.toContain(USER_PASSWORD);
    const anonymous = await connectError(etcdConfig(base));
    expect(anonymous.code).toBe(ErrorCode.ETCD);
    const outside = await connectError(etcdConfig({ ...base, rootPrefix: `/${uniqueName("elsewhere")}`, username: "datenlord", password: USER_PASSWORD }));
    expect(outside.code).toBe(ErrorCode.ETCD);
  });

  it("lookups go on after etcd restarts and forgets the store's auth token: the token is renewed", async () => {
    const config = etcdConfig({ endpoints: [authEtcd.endpoint], rootPrefix: AUTH_PREFIX, username: "datenlord", password: USER_PASSWORD });
    const store = await EtcdMetadataStore.connect({ config });
    try {
      const descriptor: BlockDescriptor = { blockId: "cd".repeat(16), size: 1, checksum: 1, holders: ["n"], s3: false, createdAt: 1 };
      await store.insertIfAbsent("ns", encodeKey("renew/prefix", 1024), descriptor);
      const query = encodeKey("renew/prefix and more", 1024);
      expect((await store.longestPrefix("ns", query))?.descriptor.blockId).toBe(descriptor.blockId);
      await authEtcd.kill("SIGTERM"); // simple auth tokens live in etcd's memory only
      await authEtcd.restart();
      expect((await store.longestPrefix("ns", query))?.descriptor.blockId).toBe(descriptor.blockId);
    } finally {
      await store.close();
    }
  });
});
