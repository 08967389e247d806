import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { Registry } from "prom-client";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PeerClient } from "../../sdk/peer-client.js";
import { makeBlock, newBlockId } from "../../src/block.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { ConnectionMetrics } from "../../src/node/connection-metrics.js";
import { DataServer } from "../../src/node/data-server.js";
import { silentLogger } from "../../src/node/logger.js";
import { ServerConnection, type RequestHandler } from "../../src/node/server-connection.js";
import { responseParser } from "../../src/wire/frame-parser.js";
import { encodeRequestHeader, type ResponseFrame } from "../../src/wire/frames.js";
import { encodeHello, SecretVerifier } from "../../src/wire/hello.js";
import { decodeErrorBody } from "../../src/wire/messages.js";
import { MAGIC, Op, Status, VERSION, wireLimits } from "../../src/wire/protocol.js";
import { cleanupAfterTest } from "../helpers/cleanup.js";
import { counterValue } from "../helpers/metric-value.js";
import { waitFor } from "../helpers/wait-for.js";

const LIMITS = { maxKeyBytes: 1024, maxBlockBytes: 1 << 20 };
const SECRET = "unit-test-cluster-secret";
const HEADER_TIMEOUT_MS = 400;
const IDLE_TIMEOUT_MS = 600;

/** A DataServer over an in-memory map, counting the requests that reached the handler. */
async function startServer(options: { secret?: string; maxConnections?: number } = {}) {
  const metrics = new ConnectionMetrics(new Registry());
  const handled: number[] = [];
  const blocks = new Map<string, ReturnType<typeof makeBlock>>();
  const handler: RequestHandler = async (frame) => {
    handled.push(frame.op);
    if (frame.op === Op.PUT) blocks.set(frame.blockId, { data: frame.data, checksum: frame.checksum });
    const b = blocks.get(frame.blockId);
    if (frame.op === Op.GET) return b === undefined ? { status: Status.NOT_FOUND } : { status: Status.OK, checksum: b.checksum, body: b.data };
    return { status: Status.OK };
  };
  const server = await DataServer.listen({
    host: "127.0.0.1", port: 0, limits: wireLimits(LIMITS), handler, logger: silentLogger, metrics,
    verifier: options.secret === undefined ? undefined : new SecretVerifier(options.secret),
    headerTimeoutMs: HEADER_TIMEOUT_MS, idleTimeoutMs: IDLE_TIMEOUT_MS, maxConnections: options.maxConnections,
  });
  cleanupAfterTest(() => server.close(100));
  const address = `127.0.0.1:${server.boundAddress.port}`;
  return { server, metrics, handled, address, port: server.boundAddress.port };
}

/** A raw socket that records response frames and when it closed. */
function rawClient(port: number) {
  const socket: Socket = connect({ host: "127.0.0.1", port });
  cleanupAfterTest(() => socket.destroy());
  const parser = responseParser(wireLimits(LIMITS));
  const frames: ResponseFrame[] = [];
  const openedAt = Date.now();
  socket.on("data", (chunk: Buffer) => frames.push(...parser.push(chunk)));
  socket.on("error", () => undefined);
  const closed = new Promise<number>((resolve) => socket.on("close", () => resolve(Date.now() - openedAt)));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, frames, closed, connected };
}

function getFrame(requestId = 3): Buffer {
  return encodeRequestHeader({ op: Op.GET, requestId, blockId: newBlockId(), checksum: 0, tagLength: 0, dataLength: 0 });
}

function helloFrame(secret: string): Buffer {
  const hello = encodeHello(secret);
  return Buffer.concat([hello.header, hello.data]);
}

function refusal(frames: readonly ResponseFrame[]): string {
  expect(frames).toHaveLength(1);
  expect(frames[0]).toMatchObject({ status: Status.ERROR, requestId: 0 });
  return decodeErrorBody(frames[0]!.body).code;
}

async function rejection(p: Promise<unknown>): Promise<KvCacheError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(KvCacheError);
  return err as KvCacheError;
}

function peer(address: string, secret?: string): PeerClient {
  const c = new PeerClient({ nodeId: "n1", address, timeoutMs: 5000, limits: LIMITS, secret });
  cleanupAfterTest(() => c.close());
  return c;
}

afterEach(() => vi.restoreAllMocks());

describe("data server authentication (HELLO with the cluster secret)", () => {
  it("refuses a first frame other than HELLO with ERR_AUTH on id 0, closes, counts it, and never runs the request", async () => {
    const { port, metrics, handled } = await startServer({ secret: SECRET });
    const c = rawClient(port);
    c.socket.write(getFrame());
    await c.closed;
    expect(refusal(c.frames)).toBe(ErrorCode.AUTH);
    expect(handled).toEqual([]);
    expect(await counterValue(metrics.authFailures, { reason: "missing" })).toBe(1);
  });

  it("refuses a wrong secret, and a request pipelined behind a HELLO before its reply", async () => {
    const { port, metrics, handled } = await startServer({ secret: SECRET });
    const wrong = rawClient(port);
    wrong.socket.write(helloFrame(`${SECRET}-but-wrong`));
    await wrong.closed;
    expect(refusal(wrong.frames)).toBe(ErrorCode.AUTH);
    const eager = rawClient(port);
    eager.socket.write(Buffer.concat([helloFrame(SECRET), getFrame()]));
    await eager.closed;
    expect(refusal(eager.frames)).toBe(ErrorCode.AUTH);
    expect(handled).toEqual([]);
    expect(await counterValue(metrics.authFailures, { reason: "wrong" })).toBe(1);
    expect(await counterValue(metrics.authFailures, { reason: "missing" })).toBe(1);
  });

  it("serves a PeerClient with the secret; one without it or with another gets ERR_AUTH and stores nothing", async () => {
    const { address, handled } = await startServer({ secret: SECRET });
    const good = peer(address, SECRET);
    const id = newBlockId();
    await good.put(id, makeBlock(Buffer.from("authenticated")));
    expect(Buffer.from((await good.get(id))!.data).toString()).toBe("authenticated");
    for (const secret of [undefined, "another-secret-entirely"]) {
      const err = await rejection(peer(address, secret).put(newBlockId(), makeBlock(Buffer.from("x"))));
      expect(err.code).toBe(ErrorCode.AUTH);
      expect(err.retryable).toBe(false);
    }
    expect(handled).toEqual([Op.PUT, Op.GET]);
  });

  it("a node without a secret answers any HELLO with OK (authentication off)", async () => {
    const { address } = await startServer();
    const c = peer(address, "a-secret-the-node-does-not-check");
    await c.ping();
  });
});

describe("data server against slow and hostile clients", () => {
  it(`closes an unauthenticated connection that sends nothing after the header timeout (${HEADER_TIMEOUT_MS} ms)`, async () => {
    const { port, metrics } = await startServer({ secret: SECRET });
    const c = rawClient(port);
    const after = await c.closed;
    expect(after).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 50);
    expect(await counterValue(metrics.refused, { reason: "header_timeout" })).toBe(1);
  });

  it("closes a slowloris connection (half a header, then a stall) after the header timeout, with no request run", async () => {
    const { port, metrics, handled } = await startServer();
    const c = rawClient(port);
    await c.connected;
    const sentAt = Date.now();
    c.socket.write(getFrame().subarray(0, 20));
    await c.closed;
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 50);
    expect(handled).toEqual([]);
    expect(await counterValue(metrics.refused, { reason: "header_timeout" })).toBe(1);
  });

  it(`closes an idle authenticated connection after the idle timeout (${IDLE_TIMEOUT_MS} ms)`, async () => {
    const { port, metrics } = await startServer({ secret: SECRET });
    const c = rawClient(port);
    c.socket.write(helloFrame(SECRET));
    const after = await c.closed;
    expect(c.frames.map((f) => f.status)).toEqual([Status.OK]);
    expect(after).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 50);
    expect(await counterValue(metrics.refused, { reason: "idle_timeout" })).toBe(1);
  });

  it("refuses a PUT announcing 4 GiB with ERR_PROTOCOL before allocating anything of that size", async () => {
    const { port, handled } = await startServer();
    const sizes: number[] = [];
    const real = Buffer.allocUnsafeSlow;
    vi.spyOn(Buffer, "allocUnsafeSlow").mockImplementation(((n: number) => (sizes.push(n), real(n))) as typeof Buffer.allocUnsafeSlow);
    const c = rawClient(port);
    c.socket.write(encodeRequestHeader({ op: Op.PUT, requestId: 1, blockId: newBlockId(), checksum: 0, tagLength: 0, dataLength: 0xffffffff }));
    await c.closed;
    expect(refusal(c.frames)).toBe(ErrorCode.PROTOCOL);
    expect(Math.max(0, ...sizes)).toBeLessThanOrEqual(LIMITS.maxBlockBytes);
    expect(handled).toEqual([]);
  });

  it("refuses an unknown op, a bad magic and another version with ERR_PROTOCOL", async () => {
    const { port, metrics } = await startServer();
    const unknown = getFrame();
    unknown[5] = 99;
    const magic = getFrame();
    magic.writeUInt32BE(MAGIC ^ 1, 0);
    const version = getFrame();
    version[4] = VERSION + 1;
    for (const frame of [unknown, magic, version]) {
      const c = rawClient(port);
      c.socket.write(frame);
      await c.closed;
      expect(refusal(c.frames)).toBe(ErrorCode.PROTOCOL);
    }
    expect(await counterValue(metrics.refused, { reason: "protocol" })).toBe(3);
  });

  it("a client that hangs up mid-frame leaves nothing behind, and the server keeps serving", async () => {
    const { server, address, port, handled } = await startServer();
    const c = rawClient(port);
    const put = encodeRequestHeader({ op: Op.PUT, requestId: 1, blockId: newBlockId(), checksum: 0, tagLength: 0, dataLength: 1000 });
    c.socket.end(Buffer.concat([put, Buffer.alloc(500)]));
    await c.closed;
    await waitFor(() => server.connectionCount === 0, { what: "the half-sent connection to be dropped" });
    expect(handled).toEqual([]);
    await peer(address).ping();
  });

  it("a client that resets its connection (RST), mid-frame or right after a refusal, closes it cleanly: \"closed\" resolves, never rejects", async () => {
    const outcomes: string[] = [];
    const accepted: Socket[] = [];
    const tcp = createServer((socket) => {
      accepted.push(socket);
      const conn = new ServerConnection(socket, { limits: wireLimits(LIMITS), verifier: new SecretVerifier(SECRET), headerTimeoutMs: 5000, idleTimeoutMs: 5000 }, async () => ({ status: Status.OK }), silentLogger);
      conn.closed.then(() => outcomes.push("closed"), (err: Error) => outcomes.push(`rejected: ${err.message}`));
    });
    await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
    cleanupAfterTest(() => new Promise((resolve) => tcp.close(resolve)));
    const port = (tcp.address() as AddressInfo).port;
    for (let i = 0; i < 10; i++) {
      const c = rawClient(port);
      await c.connected;
      const sent = i % 2 === 0 ? helloFrame(SECRET).subarray(0, 30) : getFrame();
      c.socket.write(sent);
      // Reset only once the node has read what was sent (and, for a refused frame, answered it).
      await waitFor(() => accepted[i] !== undefined && accepted[i]!.bytesRead === sent.length && (i % 2 === 0 || c.frames.length > 0), { what: "the node to read the bytes" });
      c.socket.resetAndDestroy();
      await c.closed;
    }
    await waitFor(() => outcomes.length === 10, { what: "all 10 connections to close" });
    expect(outcomes).toEqual(Array(10).fill("closed"));
  });

  it("refuses connections over node.maxConnections before reading a byte", async () => {
    const { port, metrics } = await startServer({ maxConnections: 2 });
    const [a, b] = [rawClient(port), rawClient(port)];
    await Promise.all([a.connected, b.connected]);
    await waitFor(async () => (await metrics.open.get()).values[0]?.value === 2, { what: "2 connections open" });
    const third = rawClient(port);
    await third.closed;
    expect(await counterValue(metrics.refused, { reason: "limit" })).toBe(1);
  });
});
