import { assertBlockId, type Block, type BlockId } from "../src/block.js";
import { checksumMatches } from "../src/checksum.js";
import type { LimitsConfig } from "../src/config.js";
import { abortError, ErrorCode, isKvCacheError, KvCacheError } from "../src/errors.js";
import type { CacheMetrics } from "../src/metrics.js";
import type { BlockPeer, PeerOptions, PeerStats } from "../src/peer.js";
import { encodeRequestHeader, protocolError, type ResponseFrame } from "../src/wire/frames.js";
import { decodeLocation, encodeBlockIds, encodeLeases, type Location } from "../src/wire/locations.js";
import { decodeErrorBody, decodeStatsBody } from "../src/wire/messages.js";
import { Op, opName, Status, wireLimits, type WireLimits } from "../src/wire/protocol.js";
import { parseAddress, type PeerConnection, type PeerTls } from "./peer-connection.js";
import { closedError, PeerPool } from "./peer-pool.js";

export interface PeerClientOptions {
  readonly nodeId: string;
  /** The node's data address, "host:port". */
  readonly address: string;
  /** Deadline of one request in milliseconds, queueing and connecting included (ERR_TIMEOUT). */
  readonly timeoutMs: number;
  /** Most sockets open to the node at once (default 8); requests beyond wait in FIFO order. */
  readonly maxConnections?: number;
  readonly limits: LimitsConfig;
  /** Counts checksum failures of replies (tier="network") and connection / remote errors (backend="node"). */
  readonly metrics?: CacheMetrics;
  /** The cluster secret, sent in a HELLO on every new connection (see peerSecurity()). */
  readonly secret?: string;
  /** TLS to the node (see peerSecurity()); plain TCP when absent. */
  readonly tls?: PeerTls;
}

interface Outgoing {
  readonly op: Op;
  readonly id: BlockId | "";
  readonly checksum?: number;
  readonly tag?: Uint8Array;
  readonly data?: Uint8Array;
}

/**
 * The network client of one cache node ({@link BlockPeer} over the wire
 * protocol in src/wire/). Payloads go out as separate buffers; a reply body is
 * read straight into its own buffer (the caller's, with PeerOptions.into) over
 * plain TCP, or copied there once from TLS chunks. A GET reply is verified
 * against its checksum and a mismatch is a counted miss.
 */
export class PeerClient implements BlockPeer {
  readonly nodeId: string;
  readonly address: string;
  private readonly pool: PeerPool;
  private readonly limits: WireLimits;
  private readonly timeoutMs: number;
  private readonly metrics: CacheMetrics | undefined;
  private nextRequestId = 1;
  private closed = false;

  constructor(options: PeerClientOptions) {
    checkPositiveInteger("timeoutMs", options.timeoutMs);
    checkPositiveInteger("maxConnections", options.maxConnections ?? 8);
    this.nodeId = options.nodeId;
    this.address = options.address;
    this.timeoutMs = options.timeoutMs;
    this.metrics = options.metrics;
    this.limits = wireLimits(options.limits);
    this.pool = new PeerPool({
      address: parseAddress(options.address),
      limits: this.limits,
      maxConnections: options.maxConnections ?? 8,
      mapError: (cause) => this.connectionError(cause),
      secret: options.secret,
      tls: options.tls,
    });
  }

  /**
   * Whether a connection to the node is open and set up (the node is up and,
   * with a cluster secret, accepted ours). A node that dies closes it.
   */
  get connected(): boolean {
    return this.pool.connected;
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    assertBlockId(id);
    const reply = await this.call({ op: Op.GET, id }, options);
    if (reply.status === Status.NOT_FOUND) return undefined;
    if (!checksumMatches(reply.body, reply.checksum)) {
      this.metrics?.checksumFailures.inc({ tier: "network" });
      return undefined;
    }
    return reply.tag === undefined ? { data: reply.body, checksum: reply.checksum } : { data: reply.body, checksum: reply.checksum, tag: reply.tag };
  }

  async put(id: BlockId, block: Block, options?: PeerOptions): Promise<void> {
    assertBlockId(id);
    this.checkOutgoing(block);
    const reply = await this.call({ op: Op.PUT, id, checksum: block.checksum, tag: block.tag, data: block.data }, options);
    this.expectEmptyOk(reply, Op.PUT);
  }

  async delete(id: BlockId, options?: PeerOptions): Promise<void> {
    assertBlockId(id);
    this.expectEmptyOk(await this.call({ op: Op.DELETE, id }, options), Op.DELETE);
  }

  async stats(options?: PeerOptions): Promise<PeerStats> {
    const reply = await this.call({ op: Op.STATS, id: "" }, options);
    if (reply.status !== Status.OK) throw protocolError("STATS answered NOT_FOUND");
    return decodeStatsBody(reply.body);
  }

  /**
   * LOCATE (nodes with a shared memory file): where block `id`'s bytes are in
   * that file, under a new lease; undefined when it is not in the node's memory
   * tier. `releasing` are leases this client is done with, ended first.
   */
  async locate(id: BlockId, releasing: readonly number[], options?: PeerOptions): Promise<(Location & { checksum: number; tag?: Buffer }) | undefined> {
    assertBlockId(id);
    const reply = await this.call({ op: Op.LOCATE, id, data: encodeLeases(releasing) }, options);
    if (reply.status === Status.NOT_FOUND) return undefined;
    const where = decodeLocation(reply.body);
    return reply.tag === undefined ? { ...where, checksum: reply.checksum } : { ...where, checksum: reply.checksum, tag: reply.tag };
  }

  /** RESERVE (nodes with a shared memory file): room in that file for block `id`, to write its bytes into, under a lease. */
  async reserve(id: BlockId, length: number, checksum: number, tag: Uint8Array | undefined, options?: PeerOptions): Promise<Location> {
    assertBlockId(id);
    const data = Buffer.allocUnsafe(4);
    data.writeUInt32BE(length, 0);
    const reply = await this.call({ op: Op.RESERVE, id, checksum, tag, data }, options);
    if (reply.status !== Status.OK) throw protocolError("RESERVE answered NOT_FOUND");
    return decodeLocation(reply.body);
  }

  /** COMMIT: publishes a reserved block whose bytes are written. */
  async commit(id: BlockId, lease: number, options?: PeerOptions): Promise<void> {
    assertBlockId(id);
    this.expectEmptyOk(await this.call({ op: Op.COMMIT, id, data: encodeLeases([lease]) }, options), Op.COMMIT);
  }

  /** RELEASE: ends leases LOCATE granted. */
  async release(leases: readonly number[], options?: PeerOptions): Promise<void> {
    this.expectEmptyOk(await this.call({ op: Op.RELEASE, id: "", data: encodeLeases(leases) }, options), Op.RELEASE);
  }

  /** TOUCH: blocks this client read straight from the node's shared file (made most recently used there, and counted). */
  async touch(ids: readonly BlockId[], options?: PeerOptions): Promise<void> {
    this.expectEmptyOk(await this.call({ op: Op.TOUCH, id: "", data: encodeBlockIds(ids) }, options), Op.TOUCH);
  }

  /** Round trip with no work on the node: resolves when it answered. */
  async ping(options?: PeerOptions): Promise<void> {
    this.expectEmptyOk(await this.call({ op: Op.PING, id: "" }, options), Op.PING);
  }

  /** Closes every socket; requests in flight or queued reject with ERR_CLOSED. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.pool.close(closedError(this.nodeId));
  }

  /** One request on a pooled connection, under the deadline and the caller's signal; ERROR replies throw. */
  private async call(out: Outgoing, options: PeerOptions | undefined): Promise<ResponseFrame> {
    if (this.closed) throw closedError(this.nodeId);
    const deadline = this.deadline(out.op, options?.signal);
    try {
      const conn = await this.pool.acquire(deadline.signal);
      let reply: ResponseFrame;
      try {
        reply = await this.exchange(conn, out, deadline.signal, options?.into);
      } catch (err) {
        conn.destroy(err);
        throw err;
      }
      this.pool.release(conn);
      if (reply.status === Status.ERROR) throw this.remoteError(reply, out.op);
      return reply;
    } catch (err) {
      this.countError(err);
      throw err;
    } finally {
      deadline.dispose();
    }
  }

  private exchange(conn: PeerConnection, out: Outgoing, signal: AbortSignal, into: Uint8Array | undefined): Promise<ResponseFrame> {
    const requestId = this.takeRequestId();
    const header = encodeRequestHeader({
      op: out.op, requestId, blockId: out.id, checksum: out.checksum ?? 0, tagLength: out.tag?.length ?? 0, dataLength: out.data?.length ?? 0,
    });
    return conn.exchange(requestId, header, out.tag, out.data, signal, out.op === Op.GET ? into : undefined);
  }

  /** A signal that fires with ERR_TIMEOUT after timeoutMs, or with ERR_ABORTED when `signal` does. */
  private deadline(op: Op, signal: AbortSignal | undefined): { signal: AbortSignal; dispose(): void } {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(this.timeoutError(op)), this.timeoutMs);
    const onAbort = (): void => ctl.abort(abortError(signal!));
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    return {
      signal: ctl.signal,
      dispose: () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      },
    };
  }

  private takeRequestId(): number {
    const id = this.nextRequestId;
    this.nextRequestId = (id + 1) >>> 0 || 1;
    return id;
  }

  private checkOutgoing(block: Block): void {
    if (block.data.length > this.limits.maxBlockBytes) {
      throw new KvCacheError(ErrorCode.BLOCK_TOO_LARGE, `block is ${block.data.length} bytes; the limit (limits.maxBlockBytes) is ${this.limits.maxBlockBytes}`, {
        details: { size: block.data.length, limit: this.limits.maxBlockBytes },
      });
    }
    if ((block.tag?.length ?? 0) > this.limits.maxTagBytes) {
      throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `block tag is ${block.tag!.length} bytes; the limit is ${this.limits.maxTagBytes}`);
    }
  }

  private expectEmptyOk(reply: ResponseFrame, op: Op): void {
    if (reply.status !== Status.OK || reply.body.length > 0) {
      throw protocolError(`${opName(op)} answered status ${reply.status} with a ${reply.body.length}-byte body`);
    }
  }

  private remoteError(reply: ResponseFrame, op: Op): KvCacheError {
    const remote = decodeErrorBody(reply.body);
    return new KvCacheError(ErrorCode.NODE, `node ${this.nodeId} failed ${opName(op)}: ${remote.code}: ${remote.message}`, {
      retryable: remote.retryable,
      details: { nodeId: this.nodeId, address: this.address, remoteCode: remote.code, remoteMessage: remote.message },
    });
  }

  private connectionError(cause: unknown): KvCacheError {
    if (isKvCacheError(cause)) return cause;
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new KvCacheError(ErrorCode.NODE, `node ${this.nodeId} at ${this.address}: ${reason}`, {
      cause,
      retryable: true,
      details: { nodeId: this.nodeId, address: this.address, ...(code === undefined ? {} : { errno: code }) },
    });
  }

  private timeoutError(op: Op): KvCacheError {
    return new KvCacheError(ErrorCode.TIMEOUT, `node ${this.nodeId} at ${this.address} did not answer ${opName(op)} within ${this.timeoutMs} ms`, {
      details: { nodeId: this.nodeId, address: this.address, timeoutMs: this.timeoutMs },
    });
  }

  private countError(err: unknown): void {
    const code = isKvCacheError(err) ? String(err.details["remoteCode"] ?? err.code) : "unknown";
    this.metrics?.backendErrors.inc({ backend: "node", code });
  }
}

function checkPositiveInteger(name: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `PeerClient option ${name} must be a positive integer; got ${String(value)}`);
  }
}
