import type { BlockId } from "../block.js";
import { ErrorCode, KvCacheError } from "../errors.js";
import {
  BLOCK_ID_BYTES, isOp, isStatus, MAGIC, MAX_HELLO_BYTES, MAX_LEASES_PER_FRAME, MAX_JSON_BYTES, MAX_TOUCHES_PER_FRAME, Op, REQUEST_HEADER_BYTES, RESPONSE_HEADER_BYTES, Status, VERSION,
  type WireLimits,
} from "./protocol.js";

/** A request header as sent; `blockId` is "" for ops without one (STATS, PING, HELLO). */
export interface RequestHeader {
  readonly op: Op;
  readonly flags?: number;
  readonly requestId: number;
  readonly blockId: BlockId | "";
  readonly checksum: number;
  readonly tagLength: number;
  readonly dataLength: number;
}

export interface ResponseHeader {
  readonly status: Status;
  readonly flags?: number;
  readonly requestId: number;
  readonly checksum: number;
  readonly tagLength: number;
  readonly bodyLength: number;
}

/** A whole request as received. `tag` is undefined when empty; `data` is owned by the receiver. */
export interface RequestFrame {
  readonly op: Op;
  readonly flags: number;
  readonly requestId: number;
  /** 32 lowercase hex characters (all zeros for ops without a block). */
  readonly blockId: BlockId;
  readonly checksum: number;
  readonly tag: Buffer | undefined;
  readonly data: Buffer;
}

export interface ResponseFrame {
  readonly status: Status;
  readonly flags: number;
  readonly requestId: number;
  readonly checksum: number;
  readonly tag: Buffer | undefined;
  readonly body: Buffer;
}

export function encodeRequestHeader(h: RequestHeader): Buffer {
  const out = Buffer.alloc(REQUEST_HEADER_BYTES);
  writePrefix(out, h.op, h.flags ?? 0, h.requestId);
  if (h.blockId !== "") out.write(h.blockId, 12, BLOCK_ID_BYTES, "hex");
  out.writeUInt32BE(h.checksum >>> 0, 28);
  out.writeUInt32BE(h.tagLength, 32);
  out.writeUInt32BE(h.dataLength, 36);
  return out;
}

export function encodeResponseHeader(h: ResponseHeader): Buffer {
  const out = Buffer.allocUnsafe(RESPONSE_HEADER_BYTES);
  writePrefix(out, h.status, h.flags ?? 0, h.requestId);
  out.writeUInt32BE(h.checksum >>> 0, 12);
  out.writeUInt32BE(h.tagLength, 16);
  out.writeUInt32BE(h.bodyLength, 20);
  return out;
}

function writePrefix(out: Buffer, code: number, flags: number, requestId: number): void {
  out.writeUInt32BE(MAGIC, 0);
  out[4] = VERSION;
  out[5] = code;
  out.writeUInt16BE(flags, 6);
  out.writeUInt32BE(requestId >>> 0, 8);
}

/** The parts of a socket writeFrame needs (a net.Socket, or a fake in tests). */
export interface FrameSink {
  cork(): void;
  uncork(): void;
  write(chunk: Uint8Array, callback?: (err?: Error | null) => void): boolean;
}

/**
 * Writes header, tag and payload as separate buffers inside one cork, so the
 * kernel gets a single writev and the payload is never copied into a frame.
 * Returns false when the socket's buffer is full (wait for "drain").
 * `written` is called once the frame has been handed to the kernel, or has
 * failed to be (the socket was destroyed): then its buffers may be reused.
 */
export function writeFrame(sink: FrameSink, header: Buffer, tag?: Uint8Array, payload?: Uint8Array, written?: () => void): boolean {
  sink.cork();
  let ok = sink.write(header);
  if (tag !== undefined && tag.length > 0) ok = sink.write(tag);
  if (payload !== undefined && payload.length > 0) ok = sink.write(payload, written === undefined ? undefined : () => written());
  else written?.();
  sink.uncork();
  return ok;
}

/** How a header decoder reports what follows it. */
export interface DecodedHeader<H> {
  readonly header: H;
  readonly tagLength: number;
  readonly bodyLength: number;
}

export type RequestFields = Omit<RequestFrame, "tag" | "data">;
export type ResponseFields = Omit<ResponseFrame, "tag" | "body">;

export function decodeRequestHeader(buf: Buffer, offset: number, limits: WireLimits): DecodedHeader<RequestFields> {
  const op = checkPrefix(buf, offset);
  if (!isOp(op)) throw protocolError(`unknown op ${op}`, { op });
  const tagLength = buf.readUInt32BE(offset + 32);
  const bodyLength = buf.readUInt32BE(offset + 36);
  const [maxTag, maxData] = requestCaps(op, limits);
  checkLength("tag", tagLength, maxTag);
  checkLength("data", bodyLength, maxData);
  const header: RequestFields = {
    op,
    flags: buf.readUInt16BE(offset + 6),
    requestId: buf.readUInt32BE(offset + 8),
    blockId: buf.toString("hex", offset + 12, offset + 12 + BLOCK_ID_BYTES),
    checksum: buf.readUInt32BE(offset + 28),
  };
  return { header, tagLength, bodyLength };
}

export function decodeResponseHeader(buf: Buffer, offset: number, limits: WireLimits): DecodedHeader<ResponseFields> {
  const status = checkPrefix(buf, offset);
  if (!isStatus(status)) throw protocolError(`unknown status ${status}`, { status });
  const tagLength = buf.readUInt32BE(offset + 16);
  const bodyLength = buf.readUInt32BE(offset + 20);
  const [maxTag, maxBody] = responseCaps(status, limits);
  checkLength("tag", tagLength, maxTag);
  checkLength("body", bodyLength, maxBody);
  const header: ResponseFields = {
    status,
    flags: buf.readUInt16BE(offset + 6),
    requestId: buf.readUInt32BE(offset + 8),
    checksum: buf.readUInt32BE(offset + 12),
  };
  return { header, tagLength, bodyLength };
}

/** [max tag, max data] of a request: only PUT carries a block, only HELLO a secret. */
function requestCaps(op: Op, limits: WireLimits): [number, number] {
  if (op === Op.PUT) return [limits.maxTagBytes, limits.maxBlockBytes];
  if (op === Op.HELLO) return [0, MAX_HELLO_BYTES];
  if (op === Op.LOCATE || op === Op.RELEASE) return [0, 4 * MAX_LEASES_PER_FRAME];
  if (op === Op.TOUCH) return [0, BLOCK_ID_BYTES * MAX_TOUCHES_PER_FRAME];
  if (op === Op.RESERVE) return [limits.maxTagBytes, 4];
  if (op === Op.COMMIT) return [0, 4];
  return [0, 0];
}

function responseCaps(status: Status, limits: WireLimits): [number, number] {
  if (status === Status.OK) return [limits.maxTagBytes, Math.max(limits.maxBlockBytes, MAX_JSON_BYTES)];
  if (status === Status.ERROR) return [0, MAX_JSON_BYTES];
  return [0, 0];
}

function checkPrefix(buf: Buffer, offset: number): number {
  const magic = buf.readUInt32BE(offset);
  if (magic !== MAGIC) throw protocolError(`bad magic 0x${magic.toString(16).padStart(8, "0")}`, { magic });
  const version = buf[offset + 4]!;
  if (version !== VERSION) throw protocolError(`unsupported protocol version ${version} (this side speaks ${VERSION})`, { version });
  return buf[offset + 5]!;
}

function checkLength(what: string, length: number, max: number): void {
  if (length > max) throw protocolError(`${what} length ${length} exceeds the limit of ${max} bytes`, { what, length, limit: max });
}

export function protocolError(message: string, details: Record<string, unknown> = {}): KvCacheError {
  return new KvCacheError(ErrorCode.PROTOCOL, `protocol error: ${message}`, { details });
}
