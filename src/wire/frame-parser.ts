import type { KvCacheError } from "../errors.js";
import {
  decodeRequestHeader, decodeResponseHeader, type DecodedHeader, type RequestFields, type RequestFrame, type ResponseFields,
  type ResponseFrame,
} from "./frames.js";
import { REQUEST_HEADER_BYTES, RESPONSE_HEADER_BYTES, type WireLimits } from "./protocol.js";

/** What one side of the protocol parses: header size, header decoder, and how a frame is built. */
interface FrameKind<H, F> {
  readonly headerBytes: number;
  decode(buf: Buffer, offset: number, limits: WireLimits): DecodedHeader<H>;
  build(header: H, tag: Buffer | undefined, body: Buffer): F;
}

const EMPTY = Buffer.alloc(0);

const REQUESTS: FrameKind<RequestFields, RequestFrame> = {
  headerBytes: REQUEST_HEADER_BYTES,
  decode: decodeRequestHeader,
  build: (h, tag, data) => ({ ...h, tag, data }),
};

const RESPONSES: FrameKind<ResponseFields, ResponseFrame> = {
  headerBytes: RESPONSE_HEADER_BYTES,
  decode: decodeResponseHeader,
  build: (h, tag, body) => ({ ...h, tag, body }),
};

/**
 * Called with each decoded header before anything of its announced size is
 * allocated; throwing refuses the frame (the node uses it to admit only a
 * HELLO on a connection not yet authenticated).
 */
export type AdmitHeader<H> = (header: H) => void;

/**
 * Where a frame's body goes: a buffer of at least `length` bytes the caller
 * owns (its first `length` bytes become the body), or undefined for a fresh
 * buffer of exactly that size. Asked once per frame, after `admit`.
 */
export type BodyTarget<H> = (header: H, length: number) => Buffer | undefined;

/**
 * Incremental frame parser: feed it socket chunks as they arrive, get whole
 * frames back. Lengths are checked against the limits as soon as a header is
 * complete, and the header passed to `admit`, before anything of the announced
 * size is allocated; tag and body are then copied once, chunk by chunk, into
 * buffers of exactly their size (unpooled, so a block kept by a tier holds no
 * shared slab alive).
 *
 * A malformed frame throws ERR_PROTOCOL (a refused one, what `admit` threw);
 * the parser then stays failed (every later push throws the same error)
 * because the stream has lost its framing.
 */
export class FrameParser<H, F> {
  private readonly header: Buffer;
  private headerFill = 0;
  private pending: DecodedHeader<H> | undefined;
  private tag: Buffer | undefined;
  private body: Buffer = EMPTY;
  private fill = 0;
  private failure: KvCacheError | undefined;

  constructor(
    private readonly kind: FrameKind<H, F>,
    private readonly limits: WireLimits,
    private readonly admit?: AdmitHeader<H>,
    private readonly bodyTarget?: BodyTarget<H>,
  ) {
    this.header = Buffer.alloc(kind.headerBytes);
  }

  /** True while part of a frame has been received but not all of it. */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.pending !== undefined;
  }

  /** True while part of a header has been received but not all of it. */
  get midHeader(): boolean {
    return this.headerFill > 0;
  }

  /** Consumes `chunk`; returns the frames it completed, in order. Throws ERR_PROTOCOL. */
  push(chunk: Buffer): F[] {
    if (this.failure !== undefined) throw this.failure;
    const frames: F[] = [];
    let offset = 0;
    try {
      while (offset < chunk.length || this.frameComplete()) {
        if (this.pending === undefined) offset = this.readHeader(chunk, offset);
        else offset = this.readPayload(chunk, offset);
        if (this.frameComplete()) frames.push(this.emit());
      }
    } catch (err) {
      this.failure = err as KvCacheError;
      throw err;
    }
    return frames;
  }

  /**
   * Where the next bytes belong when they are payload of the frame in hand: the
   * unfilled rest of its tag or body. A reader that can choose its read buffer
   * (net's `onread`) reads straight into it, then calls {@link filled}, so a
   * block's bytes are never copied out of socket chunks. Undefined while a
   * header is expected: read those bytes anywhere and {@link push} them.
   */
  target(): Buffer | undefined {
    if (this.failure !== undefined || this.pending === undefined) return undefined;
    const tagLength = this.pending.tagLength;
    return this.fill < tagLength ? this.tag!.subarray(this.fill) : this.body.subarray(this.fill - tagLength);
  }

  /** Counts `n` bytes written at the start of the last {@link target}; returns the frame they completed, if any. */
  filled(n: number): F[] {
    if (this.failure !== undefined) throw this.failure;
    const room = this.target()?.length ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > room) throw new RangeError(`filled(${n}) but the target has ${room} bytes`);
    this.fill += n;
    return this.frameComplete() ? [this.emit()] : [];
  }

  private readHeader(chunk: Buffer, offset: number): number {
    const size = this.kind.headerBytes;
    if (this.headerFill === 0 && chunk.length - offset >= size) {
      this.startPayload(this.kind.decode(chunk, offset, this.limits));
      return offset + size;
    }
    const n = chunk.copy(this.header, this.headerFill, offset, offset + size - this.headerFill);
    this.headerFill += n;
    if (this.headerFill === size) {
      this.headerFill = 0;
      this.startPayload(this.kind.decode(this.header, 0, this.limits));
    }
    return offset + n;
  }

  private startPayload(decoded: DecodedHeader<H>): void {
    this.admit?.(decoded.header);
    this.pending = decoded;
    this.tag = decoded.tagLength > 0 ? Buffer.allocUnsafeSlow(decoded.tagLength) : undefined;
    this.body = decoded.bodyLength > 0 ? this.bodyBuffer(decoded) : EMPTY;
    this.fill = 0;
  }

  private bodyBuffer(decoded: DecodedHeader<H>): Buffer {
    const given = this.bodyTarget?.(decoded.header, decoded.bodyLength);
    return given !== undefined && given.length >= decoded.bodyLength ? given.subarray(0, decoded.bodyLength) : Buffer.allocUnsafeSlow(decoded.bodyLength);
  }

  /** Tag then body are filled as one logical region of tagLength + bodyLength bytes. */
  private readPayload(chunk: Buffer, offset: number): number {
    const tagLength = this.pending!.tagLength;
    if (this.fill < tagLength) {
      const n = chunk.copy(this.tag!, this.fill, offset, offset + tagLength - this.fill);
      this.fill += n;
      return offset + n;
    }
    const at = this.fill - tagLength;
    const n = chunk.copy(this.body, at, offset, offset + this.body.length - at);
    this.fill += n;
    return offset + n;
  }

  private frameComplete(): boolean {
    return this.pending !== undefined && this.fill === this.pending.tagLength + this.pending.bodyLength;
  }

  private emit(): F {
    const frame = this.kind.build(this.pending!.header, this.tag, this.body);
    this.pending = undefined;
    this.tag = undefined;
    this.body = EMPTY;
    this.fill = 0;
    return frame;
  }
}

export type RequestParser = FrameParser<RequestFields, RequestFrame>;
export type ResponseParser = FrameParser<ResponseFields, ResponseFrame>;

/**
 * The node's parser: requests from clients; `admit` may refuse a header before
 * its payload is read, and `bodyTarget` may receive a body in a pooled buffer.
 */
export function requestParser(limits: WireLimits, admit?: AdmitHeader<RequestFields>, bodyTarget?: BodyTarget<RequestFields>): RequestParser {
  return new FrameParser(REQUESTS, limits, admit, bodyTarget);
}

/** The client's parser: responses from a node; `bodyTarget` may place a reply body in the caller's buffer. */
export function responseParser(limits: WireLimits, bodyTarget?: BodyTarget<ResponseFields>): ResponseParser {
  return new FrameParser(RESPONSES, limits, undefined, bodyTarget);
}
