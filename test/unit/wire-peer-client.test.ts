import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { PeerClient } from "../../sdk/peer-client.js";
import { makeBlock, newBlockId, type Block } from "../../src/block.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { CacheMetrics } from "../../src/metrics.js";
import { DataServer } from "../../src/node/data-server.js";
import { silentLogger } from "../../src/node/logger.js";
import type { Reply, RequestHandler } from "../../src/node/server-connection.js";
import { responseParser } from "../../src/wire/frame-parser.js";
import { encodeRequestHeader } from "../../src/wire/frames.js";
import { decodeErrorBody } from "../../src/wire/messages.js";
import { Op, Status, wireLimits } from "../../src/wire/protocol.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { freePort } from "../helpers/ports.js";
import { waitFor } from "../helpers/wait-for.js";

const LIMITS = { maxKeyBytes: 1024, maxBlockBytes: 8 << 20 };

/** A real DataServer on port 0 over an in-memory map, with hooks to stall or corrupt replies. */
async function startServer(hooks: { stall?: Promise<void>; corrupt?: boolean } = {}) {
  const blocks = new Map<string, Block>();
  const seen = { requests: 0, peakInFlight: 0 };
  let inFlight = 0;
  const handler: RequestHandler = async (frame): Promise<Reply> => {
    seen.requests++;
    seen.peakInFlight = Math.max(seen.peakInFlight, ++inFlight);
    try {
      if (hooks.stall !== undefined) await hooks.stall;
      if (frame.op === Op.PUT) blocks.set(frame.blockId, { data: frame.data, checksum: frame.checksum, tag: frame.tag });
      if (frame.op === Op.DELETE) blocks.delete(frame.blockId);
      if (frame.op === Op.STATS) throw new KvCacheError(ErrorCode.TIER_IO, "disk on fire");
      const b = frame.op === Op.GET ? blocks.get(frame.blockId) : undefined;
      if (frame.op === Op.GET && b === undefined) return { status: Status.NOT_FOUND };
      return b === undefined ? { status: Status.OK } : { status: Status.OK, checksum: hooks.corrupt ? b.checksum ^ 1 : b.checksum, tag: b.tag, body: b.data };
    } finally {
      inFlight--;
    }
  };
  const server = await DataServer.listen({ host: "127.0.0.1", port: 0, limits: wireLimits(LIMITS), handler, logger: silentLogger });
  cleanupAfterTest(() => server.close(1000));
  return { server, seen, address: `127.0.0.1:${server.boundAddress.port}` };
}

function client(address: string, extra: { timeoutMs?: number; maxConnections?: number; metrics?: CacheMetrics } = {}): PeerClient {
  const c = new PeerClient({ nodeId: "n1", address, timeoutMs: extra.timeoutMs ?? 5000, maxConnections: extra.maxConnections, limits: LIMITS, metrics: extra.metrics });
  cleanupAfterTest(() => c.close());
  return c;
}

async function rejection(p: Promise<unknown>): Promise<KvCacheError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KvCacheError);
  return err as KvCacheError;
}

describe("PeerClient over a DataServer", () => {
  it("puts, gets and deletes blocks byte-identically, tag included, on persistent connections", async () => {
    const { address, server } = await startServer();
    const c = client(address);
    const blocks = [Buffer.alloc(0), randomBytes(1), randomBytes(3 << 20)].map((d, i) => ({ id: newBlockId(), block: makeBlock(d, Buffer.from(`tag${i}`)) }));
    for (const { id, block } of blocks) await c.put(id, block);
    for (const { id, block } of blocks) {
      const got = await c.get(id);
      expect(Buffer.compare(got!.data, block.data)).toBe(0);
      expect(got!.checksum).toBe(block.checksum);
      expect(Buffer.from(got!.tag!).toString()).toBe(Buffer.from(block.tag!).toString());
    }
    await c.delete(blocks[2]!.id);
    await c.delete(blocks[2]!.id);
    expect(await c.get(blocks[2]!.id)).toBeUndefined();
    await c.ping();
    expect(server.connectionCount).toBe(1);
  });

  it("reads a GET reply into the caller's buffer when it fits, into a new one when not, and never on NOT_FOUND", async () => {
    const { address } = await startServer();
    const c = client(address);
    const small = { id: newBlockId(), block: makeBlock(randomBytes(100 << 10), Buffer.from("tag")) };
    const large = { id: newBlockId(), block: makeBlock(randomBytes(3 << 20)) };
    for (const { id, block } of [small, large]) await c.put(id, block);
    const into = Buffer.alloc(1 << 20, 0xee);
    for (let round = 0; round < 3; round++) {
      const got = await c.get(small.id, { into });
      expect(got!.data.buffer).toBe(into.buffer);
      expect(got!.data.byteOffset).toBe(into.byteOffset);
      expect(Buffer.compare(got!.data, small.block.data)).toBe(0);
      expect(into.subarray(small.block.data.length).every((b) => b === 0xee)).toBe(true);
    }
    const big = await c.get(large.id, { into });
    expect(big!.data.buffer).not.toBe(into.buffer);
    expect(Buffer.compare(big!.data, large.block.data)).toBe(0);
    expect(await c.get(newBlockId(), { into })).toBeUndefined();
  });

  it("counts a corrupt reply read into the caller's buffer as a miss", async () => {
    const { address } = await startServer({ corrupt: true });
    const metrics = new CacheMetrics(new Registry());
    const c = client(address, { metrics });
    const id = newBlockId();
    await c.put(id, makeBlock(randomBytes(4096)));
    expect(await c.get(id, { into: Buffer.alloc(8192) })).toBeUndefined();
    expect((await metrics.checksumFailures.get()).values.find((v) => v.labels["tier"] === "network")?.value).toBe(1);
  });

  it("opens at most maxConnections sockets and queues the rest", async () => {
    let release!: () => void;
    const { address, seen, server } = await startServer({ stall: new Promise((r) => (release = r)) });
    const c = client(address, { maxConnections: 2 });
    const gets = Array.from({ length: 6 }, () => c.get(newBlockId()));
    await waitFor(() => seen.requests === 2, { what: "two requests in flight" });
    expect(server.connectionCount).toBe(2);
    release();
    expect(await Promise.all(gets)).toEqual(Array(6).fill(undefined));
    expect(seen.peakInFlight).toBe(2);
  });

  it("times out with ERR_TIMEOUT and destroys the socket instead of reusing it", async () => {
    let release!: () => void;
    const { address, server } = await startServer({ stall: new Promise((r) => (release = r)) });
    const c = client(address, { timeoutMs: 100 });
    const err = await rejection(c.get(newBlockId()));
    expect(err.code).toBe(ErrorCode.TIMEOUT);
    expect(err.retryable).toBe(true);
    await waitFor(() => server.connectionCount === 0, { what: "the timed-out socket to close" });
    release();
  });

  it("aborts through the caller's signal, queued or in flight", async () => {
    let release!: () => void;
    const { address } = await startServer({ stall: new Promise((r) => (release = r)) });
    const c = client(address, { maxConnections: 1 });
    const ctl = new AbortController();
    const inFlight = rejection(c.get(newBlockId(), { signal: ctl.signal }));
    const queued = rejection(c.get(newBlockId(), { signal: ctl.signal }));
    ctl.abort(new Error("caller gave up"));
    expect((await inFlight).code).toBe(ErrorCode.ABORTED);
    expect((await queued).code).toBe(ErrorCode.ABORTED);
    expect((await rejection(c.get(newBlockId(), { signal: ctl.signal }))).code).toBe(ErrorCode.ABORTED);
    release();
  });

  it("close() rejects pending requests with ERR_CLOSED and is idempotent", async () => {
    let release!: () => void;
    const { address } = await startServer({ stall: new Promise((r) => (release = r)) });
    const c = client(address, { maxConnections: 1 });
    const pending = [c.get(newBlockId()), c.get(newBlockId())].map(rejection);
    await c.close();
    await c.close();
    for (const p of pending) expect((await p).code).toBe(ErrorCode.CLOSED);
    expect((await rejection(c.ping())).code).toBe(ErrorCode.CLOSED);
    release();
  });

  it("maps a refused connection to a retryable ERR_NODE with its cause", async () => {
    const metrics = new CacheMetrics();
    const c = client(`127.0.0.1:${await freePort()}`, { metrics });
    const err = await rejection(c.get(newBlockId()));
    expect(err.code).toBe(ErrorCode.NODE);
    expect(err.retryable).toBe(true);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
    expect((await metrics.backendErrors.get()).values.find((v) => v.labels.code === "ERR_NODE")?.value).toBe(1);
  });

  it("reports a remote error as ERR_NODE with the remote code and keeps the connection", async () => {
    const { address, server } = await startServer();
    const c = client(address);
    const err = await rejection(c.stats());
    expect(err.code).toBe(ErrorCode.NODE);
    expect(err.details).toMatchObject({ remoteCode: "ERR_TIER_IO", nodeId: "n1" });
    await c.ping();
    expect(server.connectionCount).toBe(1);
  });

  it("treats a GET reply failing its checksum as a counted miss", async () => {
    const metrics = new CacheMetrics();
    const { address } = await startServer({ corrupt: true });
    const c = client(address, { metrics });
    const id = newBlockId();
    await c.put(id, makeBlock(Buffer.from("payload")));
    expect(await c.get(id)).toBeUndefined();
    expect((await metrics.checksumFailures.get()).values).toEqual([expect.objectContaining({ labels: { tier: "network" }, value: 1 })]);
  });

  it("refuses oversized blocks before sending anything", async () => {
    const { address, seen } = await startServer();
    const c = client(address);
    const err = await rejection(c.put(newBlockId(), makeBlock(Buffer.alloc(LIMITS.maxBlockBytes + 1))));
    expect(err.code).toBe(ErrorCode.BLOCK_TOO_LARGE);
    expect(seen.requests).toBe(0);
  });
});

describe("DataServer shutdown", () => {
  it("close() lets the request in hand finish, then refuses connections", async () => {
    let release!: () => void;
    const { address, seen, server } = await startServer({ stall: new Promise((r) => (release = r)) });
    const c = client(address);
    const inFlight = c.get(newBlockId());
    await waitFor(() => seen.requests === 1, { what: "the request in the handler" });
    const closed = server.close(10_000);
    release();
    expect(await inFlight).toBeUndefined();
    await closed;
    const err = await rejection(c.ping());
    expect(err.code).toBe(ErrorCode.NODE);
  });

  it("close() destroys connections still busy after the drain timeout", async () => {
    const { address, seen, server } = await startServer({ stall: new Promise(() => undefined) });
    const c = client(address);
    const inFlight = rejection(c.get(newBlockId()));
    await waitFor(() => seen.requests === 1, { what: "the request in the handler" });
    await server.close(100);
    const err = await inFlight;
    expect(err.code).toBe(ErrorCode.NODE);
    expect(err.retryable).toBe(true);
  });
});

describe("DataServer with a misbehaving client", () => {
  it("a client with larger limits than the node gets the node's ERR_PROTOCOL, not a bare reset", async () => {
    const { address, server } = await startServer();
    const c = new PeerClient({ nodeId: "n1", address, timeoutMs: 5000, limits: { ...LIMITS, maxBlockBytes: 2 * LIMITS.maxBlockBytes } });
    cleanupAfterTest(() => c.close());
    const err = await rejection(c.put(newBlockId(), makeBlock(Buffer.alloc(LIMITS.maxBlockBytes + 1))));
    expect(err.code).toBe(ErrorCode.PROTOCOL);
    expect(err.details).toMatchObject({ remoteCode: "ERR_PROTOCOL" });
    await waitFor(() => server.connectionCount === 0, { what: "the node to close the connection" });
  });

  it("answers a malformed frame with ERR_PROTOCOL on request id 0 and closes the connection", async () => {
    const { server } = await startServer();
    const socket = connect({ host: "127.0.0.1", port: server.boundAddress.port });
    cleanupAfterTest(() => socket.destroy());
    const parser = responseParser(wireLimits(LIMITS));
    const frames: ReturnType<typeof parser.push> = [];
    socket.on("data", (chunk: Buffer) => frames.push(...parser.push(chunk)));
    const closed = new Promise((resolve) => socket.on("close", resolve));
    const header = encodeRequestHeader({ op: Op.PUT, requestId: 5, blockId: newBlockId(), checksum: 0, tagLength: 0, dataLength: LIMITS.maxBlockBytes + 1 });
    socket.write(header);
    await closed;
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ status: Status.ERROR, requestId: 0 });
    expect(decodeErrorBody(frames[0]!.body).code).toBe(ErrorCode.PROTOCOL);
  });
});
