import { connect, type Socket } from "node:net";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { responseParser, type ResponseParser } from "../src/wire/frame-parser.js";
import { protocolError, writeFrame, type ResponseFrame } from "../src/wire/frames.js";
import { decodeErrorBody } from "../src/wire/messages.js";
import { Status, type WireLimits } from "../src/wire/protocol.js";

/** Where a node listens, parsed from "host:port" (IPv6 as "[::1]:port"). */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export function parseAddress(address: string): PeerAddress {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || host === "" || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `invalid node address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host, port };
}

interface Exchange {
  readonly requestId: number;
  resolve(frame: ResponseFrame): void;
  reject(err: unknown): void;
}

/** Turns a socket failure into the error a caller sees; the connection pool supplies the node's name. */
export type ConnectionErrorMapper = (cause: unknown) => KvCacheError;

/**
 * One persistent socket to a node carrying one request at a time. Any failure
 * (socket error, protocol error, abort or timeout mid-frame) destroys it: a
 * socket whose stream position is unknown is never reused.
 */
export class PeerConnection {
  private readonly parser: ResponseParser;
  private current: Exchange | undefined;
  private dead = false;

  private constructor(
    private readonly socket: Socket,
    limits: WireLimits,
    private readonly mapError: ConnectionErrorMapper,
    private readonly onClose: (conn: PeerConnection) => void,
  ) {
    this.parser = responseParser(limits);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (err) => this.destroy(mapError(err)));
    socket.on("close", () => this.destroy(mapError(new Error("connection closed by the node"))));
  }

  /** Opens a connection; rejects (mapped) on failure, or with the signal's reason when it fires first. */
  static open(address: PeerAddress, limits: WireLimits, mapError: ConnectionErrorMapper, onClose: (c: PeerConnection) => void, signal: AbortSignal): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      const fail = (err: unknown): void => {
        socket.destroy();
        signal.removeEventListener("abort", onAbort);
        reject(err);
      };
      const onAbort = (): void => fail(signal.reason);
      const onError = (err: Error): void => fail(mapError(err));
      signal.addEventListener("abort", onAbort, { once: true });
      socket.once("error", onError);
      socket.once("connect", () => {
        signal.removeEventListener("abort", onAbort);
        socket.removeListener("error", onError);
        resolve(new PeerConnection(socket, limits, mapError, onClose));
      });
    });
  }

  get alive(): boolean {
    return !this.dead;
  }

  /** Sends one frame and resolves its response. Aborting `signal` destroys the connection. */
  exchange(requestId: number, header: Buffer, tag: Uint8Array | undefined, payload: Uint8Array | undefined, signal: AbortSignal): Promise<ResponseFrame> {
    if (this.dead || this.current !== undefined) return Promise.reject(this.mapError(new Error("connection is not idle")));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.destroy(signal.reason);
      const settle = (): void => {
        signal.removeEventListener("abort", onAbort);
        this.current = undefined;
      };
      this.current = {
        requestId,
        resolve: (frame) => { settle(); resolve(frame); },
        reject: (err) => { settle(); reject(err); },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      writeFrame(this.socket, header, tag, payload);
    });
  }

  /** Closes the socket; a request in flight rejects with `reason`. Idempotent. */
  destroy(reason: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
    this.current?.reject(reason);
    this.onClose(this);
  }

  private receive(chunk: Buffer): void {
    let frames: ResponseFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (err) {
      this.destroy(err);
      return;
    }
    for (const frame of frames) this.deliver(frame);
  }

  private deliver(frame: ResponseFrame): void {
    if (frame.requestId === 0 && frame.status === Status.ERROR) {
      this.destroy(connectionLevelError(frame));
      return;
    }
    const current = this.current;
    if (current === undefined || frame.requestId !== current.requestId) {
      this.destroy(protocolError(`unexpected response to request ${frame.requestId}`, { requestId: frame.requestId }));
      return;
    }
    current.resolve(frame);
  }
}

/** Request id 0 carries errors about the connection itself (the node then closes it). */
function connectionLevelError(frame: ResponseFrame): KvCacheError {
  let remote: { code: string; message: string };
  try {
    remote = decodeErrorBody(frame.body);
  } catch (err) {
    return err as KvCacheError;
  }
  const code = remote.code === ErrorCode.PROTOCOL || remote.code === ErrorCode.AUTH ? remote.code : ErrorCode.NODE;
  return new KvCacheError(code, `node closed the connection: ${remote.message}`, { details: { remoteCode: remote.code } });
}
