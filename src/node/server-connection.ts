import type { Socket } from "node:net";
import { once } from "node:events";
import { requestParser, type RequestParser } from "../wire/frame-parser.js";
import { encodeResponseHeader, writeFrame, type RequestFrame } from "../wire/frames.js";
import { encodeErrorBody } from "../wire/messages.js";
import { Status, type WireLimits } from "../wire/protocol.js";
import type { Logger } from "./logger.js";

/** What the node answers to one request. `body` and `tag` are written as they are, never copied. */
export interface Reply {
  readonly status: Status;
  readonly checksum?: number;
  readonly tag?: Uint8Array;
  readonly body?: Uint8Array;
}

/** Answers one request; a rejection becomes an ERROR reply carrying the error's code. */
export type RequestHandler = (frame: RequestFrame) => Promise<Reply>;

/**
 * One client connection on the node. Requests are answered one at a time in
 * arrival order; while one is being handled the socket is paused, so a client
 * that pipelines cannot make the node buffer more than the frame in hand. A
 * malformed frame gets an ERROR reply with request id 0 (the connection-level
 * id) and the connection is closed: its byte stream can no longer be framed.
 */
export class ServerConnection {
  private readonly parser: RequestParser;
  private readonly queue: RequestFrame[] = [];
  private busy = false;
  private draining = false;
  private failed = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    limits: WireLimits,
    private readonly handler: RequestHandler,
    private readonly logger: Logger,
  ) {
    this.parser = requestParser(limits);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (err) => logger.debug("client connection error", { remote: socket.remoteAddress, err }));
    this.done = once(socket, "close").then(() => undefined);
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
      this.failProtocol(err);
      return;
    }
    if (this.queue.length > 0) void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.socket.pause();
    try {
      for (let frame = this.queue.shift(); frame !== undefined; frame = this.queue.shift()) await this.answer(frame);
    } catch (err) {
      this.logger.debug("client connection failed while answering", { err });
      this.socket.destroy();
    } finally {
      this.busy = false;
    }
    this.socket.resume();
    this.closeIfIdle();
  }

  private async answer(frame: RequestFrame): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.handler(frame);
    } catch (err) {
      reply = { status: Status.ERROR, body: encodeErrorBody(err) };
    }
    if (this.socket.destroyed) return;
    const header = encodeResponseHeader({
      status: reply.status, requestId: frame.requestId, checksum: reply.checksum ?? 0, tagLength: reply.tag?.length ?? 0, bodyLength: reply.body?.length ?? 0,
    });
    // A slow reader gets no new reply until it has taken this one; "close" ends the wait too.
    if (!writeFrame(this.socket, header, reply.tag, reply.body)) await Promise.race([once(this.socket, "drain"), this.done]);
  }

  private failProtocol(err: unknown): void {
    this.failed = true;
    this.logger.warn("protocol error from client; closing the connection", { remote: this.socket.remoteAddress, err });
    const body = encodeErrorBody(err);
    writeFrame(this.socket, encodeResponseHeader({ status: Status.ERROR, requestId: 0, checksum: 0, tagLength: 0, bodyLength: body.length }), undefined, body);
    this.socket.end();
  }

  private closeIfIdle(): void {
    if (this.draining && !this.busy && this.queue.length === 0 && !this.parser.midFrame) this.socket.end();
  }
}
