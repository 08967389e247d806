import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BaselineProcess } from "../../bench/baselines.js";
import { startRawTcpServer, type RawTcpServer } from "../../bench/raw-tcp.js";
import { loadConfig } from "../../src/config.js";
import { testS3, testS3Connection, uniqueName } from "../helpers/env.js";
import { makeTestS3Client } from "../helpers/s3-client.js";

/**
 * The bench's baselines run in a worker process (bench/baselines.ts): each
 * round is asked for over IPC, run there against the real servers, and
 * answered with what it moved. Redis rounds are left to the bench itself,
 * which installs redis-server; these use the raw TCP server and S3.
 */
describe("bench baseline worker", () => {
  let raw: RawTcpServer;
  let worker: BaselineProcess;

  beforeAll(async () => {
    raw = await startRawTcpServer();
    worker = await BaselineProcess.start({ rawPort: raw.port, connections: 2 });
  });

  afterAll(async () => {
    await worker?.stop();
    await raw?.stop();
  });

  it("runs raw TCP rounds both ways, every byte counted, in its own process", async () => {
    expect(worker.pid).not.toBe(process.pid);
    for (const direct of [false, true]) {
      const round = await worker.round({ kind: "raw", ops: 6, concurrency: 2, size: 64 * 1024, blocks: 3, direct });
      expect(round.ops).toBe(6);
      expect(round.bytes).toBe(6 * 64 * 1024);
      expect(round.seconds).toBeGreaterThan(0);
    }
  });

  it("runs GetObject rounds over the objects it is given, and reports a missing one as the round's failure", async () => {
    const s3 = testS3();
    const prefix = uniqueName("baselines");
    const config = loadConfig({ overrides: { s3: { ...testS3Connection(s3), prefix } }, env: {} }).s3;
    const client = makeTestS3Client(s3);
    const objects = [`${prefix}/a`, `${prefix}/b`];
    try {
      await Promise.all(objects.map((key, i) => client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: Buffer.alloc(1000 + i, i) }))));
      const round = await worker.round({ kind: "getObject", ops: 4, concurrency: 2, s3: config, objects });
      expect(round.bytes).toBe(2 * 1000 + 2 * 1001);
      await expect(worker.round({ kind: "getObject", ops: 1, concurrency: 1, s3: config, objects: [`${prefix}/missing`] })).rejects.toThrow(/baseline worker: .*NoSuchKey|baseline worker: .*not exist/);
    } finally {
      client.destroy();
    }
  });

  it("refuses rounds it has no client for, and keeps serving", async () => {
    await expect(worker.round({ kind: "get", ops: 1, concurrency: 1, keys: ["k"] })).rejects.toThrow(/opened without a Redis port/);
    await expect(worker.round({ kind: "raw", ops: 1, concurrency: 3, size: 8, blocks: 1, direct: false })).rejects.toThrow(/2 raw connections open, 3 asked for/);
    expect((await worker.round({ kind: "raw", ops: 2, concurrency: 1, size: 8, blocks: 1, direct: false })).bytes).toBe(16);
  });

  it("exits when stopped, and fails rounds asked of it afterwards", async () => {
    const other = await BaselineProcess.start({ connections: 0 });
    const pid = other.pid;
    await other.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(other.round({ kind: "raw", ops: 1, concurrency: 1, size: 8, blocks: 1, direct: false })).rejects.toThrow();
  });
});
