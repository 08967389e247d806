import { connect, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { DirectReader } from "../src/wire/direct-reader.js";
import { responseParser } from "../src/wire/frame-parser.js";
import { protocolError, writeFrame, type ResponseFields, type ResponseFrame } from "../src/wire/frames.js";
import { encodeHello, HELLO_REQUEST_ID } from "../src/wire/hello.js";
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
  /** Where an OK reply's body goes when it fits (PeerOptions.into). */
  readonly into: Buffer | undefined;
  resolve(frame: ResponseFrame): void;
  reject(err: unknown): void;
}

/** Turns a socket failure into the error a caller sees; the connection pool supplies the node's name. */
export type ConnectionErrorMapper = (cause: unknown) => KvCacheError;

/** TLS of the data path, client side: node:tls connect options read from the config once. */
export interface PeerTls {
  /** CAs node certificates must chain to; undefined: the system's. */
  readonly ca?: Buffer;
  /** Client certificate and key, presented when set. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Name node certificates must carry; undefined: the host of the node's address. */
  readonly serverName?: string;
}

/** How to reach and join one node: address, limits, and the connection set-up the cluster requires. */
export interface ConnectOptions {
  readonly address: PeerAddress;
  readonly limits: WireLimits;
  readonly mapError: ConnectionErrorMapper;
  /** Sent in a HELLO before the connection is used (auth.secret); undefined: no HELLO. */
  readonly secret?: string;
  /** TLS instead of plain TCP. */
  readonly tls?: PeerTls;
}

/**
 * One persistent socket to a node carrying one request at a time. Any failure
 * (socket error, protocol error, abort or timeout mid-frame) destroys it: a
 * socket whose stream position is unknown is never reused.
 */
export class PeerConnection {
  private current: Exchange | undefined;
  private dead = false;

  private constructor(
    private readonly socket: Socket,
    reader: DirectReader<ResponseFrame>,
    readsDirect: boolean,
    private readonly mapError: ConnectionErrorMapper,
    private readonly onClose: (conn: PeerConnection) => void,
  ) {
    socket.setNoDelay(true);
    reader.attach({ frames: (frames) => this.receive(frames), fail: (err) => this.destroy(err) });
    // A plain socket reads through reader.onread (see openSocket); a TLS socket cannot, and emits chunks.
    if (!readsDirect) socket.on("data", (chunk: Buffer) => reader.push(chunk));
    socket.on("error", (err) => this.destroy(mapError(err)));
    socket.on("close", () => this.destroy(mapError(new Error("connection closed by the node"))));
  }

  /**
   * Opens a connection (TLS handshake included), then passes the HELLO when a
   * secret is set; rejects (mapped; a refused secret as ERR_AUTH) on failure,
   * or with the signal's reason when it fires first.
   */
  static async open(options: ConnectOptions, onClose: (c: PeerConnection) => void, signal: AbortSignal): Promise<PeerConnection> {
    let conn: PeerConnection | undefined;
    const reader = new DirectReader(responseParser(options.limits, (header, length) => conn?.bodyTarget(header, length)));
    const socket = await openSocket(options, reader, signal);
    // The owner hears of a close only once it has the connection: a failed set-up is reported by rejecting.
    let handedOver = false;
    conn = new PeerConnection(socket, reader, options.tls === undefined, options.mapError, (c) => handedOver && onClose(c));
    if (options.secret !== undefined) {
      const hello = encodeHello(options.secret);
      try {
        const reply = await conn.exchange(HELLO_REQUEST_ID, hello.header, undefined, hello.data, signal, undefined);
        if (reply.status !== Status.OK) throw protocolError(`HELLO answered status ${reply.status}`);
      } catch (err) {
        conn.destroy(err);
        throw err;
      }
    }
    if (!conn.alive) throw options.mapError(new Error("connection closed by the node during set-up"));
    handedOver = true;
    return conn;
  }

  get alive(): boolean {
    return !this.dead;
  }

  /**
   * Sends one frame and resolves its response; an OK reply's body is read into
   * `into` when it fits. Aborting `signal` destroys the connection.
   */
  exchange(
    requestId: number, header: Buffer, tag: Uint8Array | undefined, payload: Uint8Array | undefined, signal: AbortSignal, into: Uint8Array | undefined,
  ): Promise<ResponseFrame> {
    if (this.dead || this.current !== undefined) return Promise.reject(this.mapError(new Error("connection is not idle")));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.destroy(signal.reason);
      const settle = (): void => {
        signal.removeEventListener("abort", onAbort);
        this.current = undefined;
      };
      this.current = {
        requestId,
        into: into === undefined ? undefined : Buffer.from(into.buffer, into.byteOffset, into.length),
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

  /** The caller's buffer for the body of the reply in hand, if it asked for one and the body fits. */
  private bodyTarget(header: ResponseFields, length: number): Buffer | undefined {
    const current = this.current;
    if (current?.into === undefined || header.requestId !== current.requestId || header.status !== Status.OK) return undefined;
    return length <= current.into.length ? current.into : undefined;
  }

  private receive(frames: readonly ResponseFrame[]): void {
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

/** A connected socket (after the TLS handshake when TLS is on); rejects mapped, or with the signal's reason. */
function openSocket(options: ConnectOptions, reader: DirectReader<ResponseFrame>, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const { address, tls, mapError } = options;
    const socket = tls === undefined
      ? connect({ host: address.host, port: address.port, onread: reader.onread })
      : connectTls({ host: address.host, port: address.port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName });
    const fail = (err: unknown): void => {
      socket.destroy();
      signal.removeEventListener("abort", onAbort);
      reject(err);
    };
    const onAbort = (): void => fail(signal.reason);
    const onError = (err: Error): void => fail(mapError(err));
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("error", onError);
    socket.once(tls === undefined ? "connect" : "secureConnect", () => {
      signal.removeEventListener("abort", onAbort);
      socket.removeListener("error", onError);
      resolve(socket);
    });
  });
}
