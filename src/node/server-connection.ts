import type { Socket } from "node:net";
import { once } from "node:events";
import { requestParser, type RequestParser } from "../wire/frame-parser.js";
import { encodeResponseHeader, writeFrame, type RequestFrame } from "../wire/frames.js";
import { encodeErrorBody } from "../wire/messages.js";
import { Op, Status } from "../wire/protocol.js";
import type { ConnectionPolicy } from "./connection-policy.js";
import type { RefusalReason } from "./connection-metrics.js";
import { authFailureOf, HelloGate } from "./hello-gate.js";
import type { Logger } from "./logger.js";

/** What the node answers to one request. `body` and `tag` are written as they are, never copied. */
export interface Reply {
  readonly status: Status;
  readonly checksum?: number;
  readonly tag?: Uint8Array;
  readonly body?: Uint8Array;
  /** Called once `body` is no longer needed: written to the socket, or never to be (a lent buffer goes back to its pool). */
  readonly release?: () => void;
}

/** Answers one request; a rejection becomes an ERROR reply carrying the error's code. */
export type RequestHandler = (frame: RequestFrame) => Promise<Reply>;

/**
 * One client connection on the node. Requests are answered one at a time in
 * arrival order; while one is being handled the socket is paused, so a client
 * that pipelines cannot make the node buffer more than the frame in hand.
 *
 * The connection is refused, with an ERROR reply on request id 0 (the
 * connection-level id) and then closed, when a frame is malformed
 * (ERR_PROTOCOL: its byte stream can no longer be framed) or the client has
 * not authenticated (ERR_AUTH, see HelloGate). It is closed without a reply
 * when a header stalls past headerTimeoutMs (slowloris), or nothing moves for
 * idleTimeoutMs while no request is in hand.
 */
export class ServerConnection {
  private readonly parser: RequestParser;
  private readonly gate: HelloGate;
  private readonly queue: RequestFrame[] = [];
  private busy = false;
  private draining = false;
  private failed = false;
  private headerTimer: NodeJS.Timeout | undefined;
  private readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly policy: ConnectionPolicy,
    private readonly handler: RequestHandler,
    private readonly logger: Logger,
  ) {
    this.gate = new HelloGate(policy.verifier);
    const bodyBuffer = policy.bodyBuffer;
    this.parser = requestParser(policy.limits, (header) => this.gate.admit(header), bodyBuffer === undefined ? undefined : (_header, length) => bodyBuffer(length));
    socket.setNoDelay(true);
    socket.setTimeout(policy.idleTimeoutMs);
    socket.on("timeout", () => this.onIdle());
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (err) => logger.debug("client connection error", { remote: socket.remoteAddress, err }));
    // Not events.once(): it rejects on "error" (a client's RST is ECONNRESET), an unhandled rejection that ends the process.
    this.done = new Promise<void>((resolve) => socket.once("close", () => resolve())).then(() => this.stopHeaderTimer());
    this.updateHeaderTimer();
  }

  /** Resolves when the socket has closed. */
  get closed(): Promise<void> {
    return this.done;
  }

  /** Closes as soon as no request is in hand or partly received (graceful shutdown). */
  drain(): void {
    this.draining = true;
    this.closeIfIdle();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.failed) return;
    try {
      this.queue.push(...this.parser.push(chunk));
    } catch (err) {
      this.refuse(err);
      return;
    }
    this.updateHeaderTimer();
    if (this.queue.length > 0) void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.socket.pause();
    try {
      for (let frame = this.queue.shift(); frame !== undefined && !this.failed; frame = this.queue.shift()) await this.answer(frame);
    } catch (err) {
      this.logger.debug("client connection failed while answering", { err });
      this.socket.destroy();
    } finally {
      this.busy = false;
    }
    if (this.failed) return;
    this.socket.resume();
    this.closeIfIdle();
  }

  private async answer(frame: RequestFrame): Promise<void> {
    let reply: Reply;
    try {
      reply = frame.op === Op.HELLO ? this.hello(frame) : await this.handler(frame);
    } catch (err) {
      if (authFailureOf(err) !== undefined) return this.refuse(err);
      reply = { status: Status.ERROR, body: encodeErrorBody(err) };
    }
    if (this.socket.destroyed) return reply.release?.();
    const header = encodeResponseHeader({
      status: reply.status, requestId: frame.requestId, checksum: reply.checksum ?? 0, tagLength: reply.tag?.length ?? 0, bodyLength: reply.body?.length ?? 0,
    });
    // A slow reader gets no new reply until it has taken this one; "close" ends the wait too.
    if (!writeFrame(this.socket, header, reply.tag, reply.body, reply.release)) await Promise.race([once(this.socket, "drain"), this.done]);
  }

  private hello(frame: RequestFrame): Reply {
    this.gate.hello(frame);
    this.updateHeaderTimer();
    return { status: Status.OK };
  }

  /** Answers ERR_PROTOCOL / ERR_AUTH on request id 0, counts it, and closes. */
  private refuse(err: unknown): void {
    this.failed = true;
    this.stopHeaderTimer();
    const auth = authFailureOf(err);
    if (auth !== undefined) this.policy.metrics?.authFailed(auth);
    else this.policy.metrics?.closed("protocol");
    this.logger.warn(auth === undefined ? "protocol error from client; closing the connection" : "client failed authentication; closing the connection", { remote: this.socket.remoteAddress, err });
    const body = encodeErrorBody(err);
    writeFrame(this.socket, encodeResponseHeader({ status: Status.ERROR, requestId: 0, checksum: 0, tagLength: 0, bodyLength: body.length }), undefined, body);
    this.socket.end();
    // A client that never reads must not keep the socket (and its unsent reply) open.
    this.socket.setTimeout(this.policy.headerTimeoutMs, () => this.socket.destroy());
  }

  /** Runs while a header is partly received, or the connection has not passed its HELLO. */
  private updateHeaderTimer(): void {
    const due = !this.failed && (this.parser.midHeader || !this.gate.authenticated);
    if (!due) return this.stopHeaderTimer();
    this.headerTimer ??= setTimeout(() => this.onHeaderTimeout(), this.policy.headerTimeoutMs);
  }

  private onHeaderTimeout(): void {
    this.headerTimer = undefined;
    // A pipelined header waits while the socket is paused for the request in hand: not the client's stall.
    if (this.busy) return this.updateHeaderTimer();
    this.close("header_timeout");
  }

  private stopHeaderTimer(): void {
    clearTimeout(this.headerTimer);
    this.headerTimer = undefined;
  }

  private onIdle(): void {
    // Socket timeouts fire once per quiet spell: re-arm while a request is being worked on.
    if (this.busy || this.failed) return void this.socket.setTimeout(this.policy.idleTimeoutMs);
    this.close("idle_timeout");
  }

  private close(reason: RefusalReason): void {
    this.failed = true;
    this.stopHeaderTimer();
    this.policy.metrics?.closed(reason);
    this.logger.debug("closing a client connection", { remote: this.socket.remoteAddress, reason });
    this.socket.destroy();
  }

  private closeIfIdle(): void {
    if (this.draining && !this.busy && this.queue.length === 0 && !this.parser.midFrame) this.socket.end();
  }
}
