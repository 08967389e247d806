import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newBlockId, type BlockId } from "../../src/block.js";
import type { S3Config } from "../../src/config.js";
import { ErrorCode } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { S3Tier, type S3TierOptions } from "../../storage/s3-tier.js";
import { describeTierContract, expectCode, expectSameBlock, listIds, sampleBlock } from "../contract/tier-contract.js";
import { testS3, uniqueName } from "../helpers/env.js";
import { counterValue } from "../helpers/metric-value.js";
import { freePort } from "../helpers/ports.js";
import { deletePrefix, listKeys, testS3Config } from "../helpers/s3-objects.js";
import { makeTestS3Client } from "../helpers/s3-client.js";
import { startSilentServer, type SilentServer } from "../helpers/silent-server.js";
import { waitFor } from "../helpers/wait-for.js";

const MiB = 1024 * 1024;

describeTierContract("S3Tier", async () => {
  const config = testS3Config(testS3(), uniqueName("s3-contract"));
  const namespace = "model/a b";
  let tier = new S3Tier({ config, namespace });
  const client = makeTestS3Client(testS3());
  return {
    get tier() {
      return tier;
    },
    capacityBytes: Infinity,
    reopen: async () => {
      await tier.close();
      tier = new S3Tier({ config, namespace });
      await tier.recount();
      return tier;
    },
    cleanup: async () => {
      await tier.close();
      await deletePrefix(client, config.bucket, `${config.prefix}/`);
      client.destroy();
    },
  };
});

describe("S3Tier", () => {
  let client: S3Client;
  let prefix: string;
  let bucket: string;
  let cleanups: (() => Promise<void>)[];

  beforeEach(() => {
    client = makeTestS3Client(testS3());
    prefix = uniqueName("s3-tier");
    bucket = testS3().bucket;
    cleanups = [];
  });
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await deletePrefix(client, bucket, `${prefix}/`);
    client.destroy();
  });

  function open(namespace = "ns", config: Partial<S3Config> = {}, options: Partial<S3TierOptions> = {}): S3Tier {
    const tier = new S3Tier({ config: testS3Config(testS3(), prefix, config), namespace, ...options });
    cleanups.push(() => tier.close());
    return tier;
  }

  /** A client of our own (closed after the test) that records the name of every command it sends. */
  function recordingClient(): { client: S3Client; commands: string[] } {
    const shared = makeTestS3Client(testS3());
    const commands: string[] = [];
    shared.middlewareStack.add((next, context) => (args) => {
      commands.push(String(context.commandName));
      return next(args);
    }, { step: "initialize" });
    cleanups.unshift(async () => shared.destroy());
    return { client: shared, commands };
  }

  async function silentServer(): Promise<SilentServer> {
    const server = await startSilentServer();
    cleanups.push(() => server.stop());
    return server;
  }

  /** Rewrites the object's body through `damage`, keeping its metadata (as bit rot would). */
  async function damageObject(key: string, damage: (body: Buffer) => void): Promise<void> {
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    damage(body);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: got.Metadata }));
  }

  describe("corruption", () => {
    for (const [what, tagSize, offset] of [
      ["data", 16, 700],
      ["a tag kept in the body", 5000, 10],
    ] as const) {
      it(`drops, counts and reports an object whose ${what} was damaged; never returns it`, async () => {
        const metrics = new CacheMetrics();
        const corrupt: BlockId[] = [];
        const tier = open("ns", {}, { metrics, onCorrupt: (id) => corrupt.push(id) });
        const [id, kept] = [newBlockId(), newBlockId()];
        await tier.put(id, sampleBlock(1000, randomBytes(tagSize)));
        await tier.put(kept, sampleBlock(10));
        const [key] = await listKeys(client, bucket, `${prefix}/ns/${id}`);
        await damageObject(key!, (body) => void (body[offset]! ^= 0xff));

        await expect(tier.get(id)).resolves.toBeUndefined();
        expect(corrupt).toEqual([id]);
        expect(await counterValue(metrics.checksumFailures, { tier: "s3" })).toBe(1);
        expect(await counterValue(metrics.blockMoves, { from: "s3", reason: "corrupt" })).toBe(1);
        expect(await listIds(tier)).toEqual([kept]);
        await expect(tier.get(id)).resolves.toBeUndefined();
        expect(await counterValue(metrics.checksumFailures, { tier: "s3" })).toBe(1);
      });
    }
  });

  it("round-trips an 11 MiB block byte-identical through a multipart upload, on an injected client", async () => {
    const { client: shared, commands } = recordingClient();
    const tier = open("ns", { multipartThresholdBytes: 5 * MiB }, { client: shared });
    const id = newBlockId();
    const block = sampleBlock(11 * MiB, Buffer.from("big/key"));
    await tier.put(id, block);
    // 5 + 5 + 1 MiB parts.
    expect(commands.filter((c) => c === "UploadPartCommand")).toHaveLength(3);
    expect(commands).toContain("CompleteMultipartUploadCommand");
    expectSameBlock(await tier.get(id), block);
    expect(tier.stats()).toMatchObject({ items: 1, bytes: 11 * MiB });
    await tier.close();
    // The tier does not own an injected client: it still works after close.
    await expect(shared.send(new HeadObjectCommand({ Bucket: bucket, Key: `${prefix}/ns/${id}` }))).resolves.toMatchObject({ ContentLength: 11 * MiB });
  });

  it("keeps namespaces apart: same id, two namespaces", async () => {
    const [a, b] = [open("model-a"), open("model-b")];
    const id = newBlockId();
    const [blockA, blockB] = [sampleBlock(100), sampleBlock(200)];
    await a.put(id, blockA);
    await expect(b.get(id)).resolves.toBeUndefined();
    await b.put(id, blockB);
    expectSameBlock(await a.get(id), blockA);
    expectSameBlock(await b.get(id), blockB);
    await a.delete(id);
    await expect(a.has(id)).resolves.toBe(false);
    expectSameBlock(await b.get(id), blockB);
    expect(await listIds(b)).toEqual([id]);
  });

  it("keeps hostile namespaces inside the prefix, one directory each", async () => {
    const namespaces = ["../x", "a/b", "a%2Fb", "..", ".", "%", "ü/../..", "/", " "];
    const id = newBlockId();
    const blocks = namespaces.map(() => sampleBlock(32));
    const tiers = namespaces.map((ns) => open(ns));
    await Promise.all(tiers.map((tier, i) => tier.put(id, blocks[i]!)));

    const keys = await listKeys(client, bucket, "");
    const ours = keys.filter((key) => key.startsWith(`${prefix}/`));
    expect(ours).toHaveLength(namespaces.length);
    for (const key of ours) {
      const segments = key.slice(prefix.length + 1).split("/");
      expect(segments, key).toHaveLength(2);
      expect(segments[0]).toMatch(/^[A-Za-z0-9_%-]+$/);
      expect(segments[1]).toBe(id);
    }
    for (const [i, tier] of tiers.entries()) expectSameBlock(await tier.get(id), blocks[i]!);
    expect(keys.filter((key) => key.includes(id) && !key.startsWith(`${prefix}/`))).toEqual([]);
  });

  it("deletes more than one DeleteObjects batch (1000 keys) in one deleteMany", async () => {
    const tier = open();
    const stored = [newBlockId(), newBlockId(), newBlockId()];
    await tier.putMany(stored.map((id) => [id, sampleBlock(8)] as const));
    const absent = Array.from({ length: 1200 }, () => newBlockId());
    await tier.deleteMany([...absent, ...stored]);
    expect(await listIds(tier)).toEqual([]);
    expect(tier.stats()).toMatchObject({ items: 0, bytes: 0 });
  });

  it("lists ids across ListObjectsV2 pages, only its own namespace", async () => {
    const { client: shared, commands } = recordingClient();
    const tier = open("ns", {}, { listPageSize: 2, client: shared });
    const stored = Array.from({ length: 5 }, () => newBlockId());
    await tier.putMany(stored.map((id) => [id, sampleBlock(8)] as const));
    await open("ns-other").put(newBlockId(), sampleBlock(8));
    expect(await listIds(tier)).toEqual([...stored].sort());
    expect(commands.filter((c) => c === "ListObjectsV2Command")).toHaveLength(3);
    expect(await tier.recount()).toEqual({ items: 5, bytes: 40, capacityBytes: Infinity });
  });

  it("reports a missing bucket as ERR_S3, not as a miss, and counts it", async () => {
    const metrics = new CacheMetrics();
    const tier = open("ns", { bucket: uniqueName("no-such-bucket") }, { metrics });
    await expectCode(tier.get(newBlockId()), ErrorCode.S3);
    await expectCode(tier.put(newBlockId(), sampleBlock(4)), ErrorCode.S3);
    expect(await counterValue(metrics.backendErrors, { backend: "s3", code: ErrorCode.S3 })).toBe(2);
  });

  it("maps an unreachable endpoint to a retryable ERR_S3 keeping the cause", async () => {
    const tier = open("ns", { endpoint: `http://127.0.0.1:${await freePort()}` });
    const err = await tier.get(newBlockId()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.S3, retryable: true });
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it("fails a request that gets no answer with ERR_TIMEOUT after requestTimeoutMs", async () => {
    const server = await silentServer();
    const metrics = new CacheMetrics();
    const tier = open("ns", { endpoint: server.endpoint, requestTimeoutMs: 300 }, { metrics });
    const started = Date.now();
    await expectCode(tier.get(newBlockId()), ErrorCode.TIMEOUT);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(await counterValue(metrics.backendErrors, { backend: "s3", code: ErrorCode.TIMEOUT })).toBe(1);
  });

  it("aborts in-flight requests with ERR_ABORTED and keeps at most maxConcurrency in flight", async () => {
    const server = await silentServer();
    const tier = open("ns", { endpoint: server.endpoint, maxConcurrency: 2 });
    const controller = new AbortController();
    const pending = Array.from({ length: 5 }, () => tier.get(newBlockId(), { signal: controller.signal }).catch((e: unknown) => e));
    await waitFor(() => server.open() === 2, { what: "two requests to reach the silent server" });
    controller.abort(new Error("caller gave up"));
    for (const err of await Promise.all(pending)) expect(err).toMatchObject({ code: ErrorCode.ABORTED });
    expect(server.maxOpen()).toBe(2);
    await waitFor(() => server.open() === 0, { what: "aborted requests to close their sockets" });
  });

  it("reads an object written by another instance and recounts the namespace", async () => {
    const id = newBlockId();
    const block = sampleBlock(300, randomBytes(2000));
    await open().put(id, block);
    const other = open();
    expect(other.stats()).toMatchObject({ items: 0, bytes: 0 });
    expectSameBlock(await other.get(id), block);
    expect(await other.recount()).toEqual({ items: 1, bytes: 2300, capacityBytes: Infinity });
  });
});
