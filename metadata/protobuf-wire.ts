/**
 * The protocol-buffers wire format, as far as the etcd range codec needs it
 * (etcd-range-codec.ts): varints, length-delimited fields, and skipping what
 * is not read. Numbers that may not fit a double (int64, uint64) are read as
 * decimal strings, the form etcd3 gives them.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LENGTH = 2;
export const WIRE_FIXED32 = 5;

/** Up to 7 varint bytes hold 49 bits: such a value is exact in a double. */
const EXACT_VARINT_BYTES = 7;
const MAX_VARINT_BYTES = 10;

/** Malformed input: the message ends inside a field, or a varint runs past 10 bytes. */
export class ProtobufWireError extends Error {
  override readonly name = "ProtobufWireError";
}

/** Reads the fields of one message in `buf[start, end)`, front to back. */
export class ProtoReader {
  #pos: number;

  constructor(readonly buf: Buffer, start = 0, readonly end = buf.length) {
    this.#pos = start;
  }

  get done(): boolean {
    return this.#pos >= this.end;
  }

  /** The next field's tag: field number `tag >>> 3`, wire type `tag & 7`. */
  tag(): number {
    return this.#varintNumber();
  }

  bool(): boolean {
    const start = this.#pos;
    this.#skipVarint();
    for (let i = start; i < this.#pos; i++) if (this.buf[i] !== 0 && this.buf[i] !== 0x80) return true;
    return false;
  }

  /** An int64 (`signed`) or uint64 varint, as a decimal string. */
  int64(signed: boolean): string {
    const start = this.#pos;
    this.#skipVarint();
    if (this.#pos - start <= EXACT_VARINT_BYTES) return String(this.#small(start));
    let value = 0n;
    for (let i = this.#pos - 1; i >= start; i--) value = (value << 7n) | BigInt(this.buf[i]! & 0x7f);
    return String(signed ? BigInt.asIntN(64, value) : BigInt.asUintN(64, value));
  }

  /** A bytes field: a view of the message's buffer, not a copy. */
  bytes(): Buffer {
    const length = this.#varintNumber();
    const start = this.#pos;
    this.#advance(length);
    return this.buf.subarray(start, start + length);
  }

  /** An embedded message: a reader over its bytes. */
  message(): ProtoReader {
    const length = this.#varintNumber();
    const start = this.#pos;
    this.#advance(length);
    return new ProtoReader(this.buf, start, start + length);
  }

  /** Passes over a field of wire type `wireType` (groups, long deprecated, are refused). */
  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.#skipVarint();
    else if (wireType === WIRE_FIXED64) this.#advance(8);
    else if (wireType === WIRE_LENGTH) this.#advance(this.#varintNumber());
    else if (wireType === WIRE_FIXED32) this.#advance(4);
    else throw new ProtobufWireError(`unsupported wire type ${wireType}`);
  }

  #varintNumber(): number {
    const start = this.#pos;
    this.#skipVarint();
    if (this.#pos - start > EXACT_VARINT_BYTES) throw new ProtobufWireError("varint too large for a length or tag");
    return this.#small(start);
  }

  /** The value of the varint at buf[start, pos), at most {@link EXACT_VARINT_BYTES} long. */
  #small(start: number): number {
    let value = 0;
    for (let i = this.#pos - 1; i >= start; i--) value = value * 128 + (this.buf[i]! & 0x7f);
    return value;
  }

  #skipVarint(): void {
    const limit = Math.min(this.end, this.#pos + MAX_VARINT_BYTES);
    while (this.#pos < limit) {
      if ((this.buf[this.#pos++]! & 0x80) === 0) return;
    }
    throw new ProtobufWireError(this.#pos >= this.end ? "message ends inside a varint" : "varint longer than 10 bytes");
  }

  #advance(length: number): void {
    if (length > this.end - this.#pos) throw new ProtobufWireError("message ends inside a field");
    this.#pos += length;
  }
}

/** Builds one message. Default values (0, false, empty bytes) are left out, as proto3 encoders do. */
export class ProtoWriter {
  #buf = Buffer.allocUnsafe(128);
  #length = 0;

  /** A uint32 / enum / bool / int64 field; int64 given as a number, bigint or decimal string. */
  varint(field: number, value: number | bigint | string | boolean): this {
    if (value === 0 || value === false || value === "0" || value === 0n) return this;
    this.#key(field, WIRE_VARINT);
    if (typeof value === "number" && Number.isSafeInteger(value) && value > 0) this.#smallVarint(value);
    else this.#bigVarint(BigInt.asUintN(64, BigInt(value)));
    return this;
  }

  bytes(field: number, data: Uint8Array | undefined): this {
    if (data === undefined || data.length === 0) return this;
    return this.#delimited(field, data);
  }

  /** An embedded message, written even when empty (its presence is information). */
  message(field: number, inner: ProtoWriter): this {
    return this.#delimited(field, inner.#buf.subarray(0, inner.#length));
  }

  /** The message's bytes (a view of this writer's buffer). */
  finish(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }

  #delimited(field: number, data: Uint8Array): this {
    this.#key(field, WIRE_LENGTH);
    this.#smallVarint(data.length);
    this.#room(data.length);
    this.#buf.set(data, this.#length);
    this.#length += data.length;
    return this;
  }

  #key(field: number, wireType: number): void {
    this.#smallVarint(field * 8 + wireType);
  }

  /** A non-negative safe integer. */
  #smallVarint(value: number): void {
    this.#room(MAX_VARINT_BYTES);
    let v = value;
    while (v > 0x7f) {
      this.#buf[this.#length++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#length++] = v;
  }

  #bigVarint(value: bigint): void {
    this.#room(MAX_VARINT_BYTES);
    let v = value;
    while (v > 0x7fn) {
      this.#buf[this.#length++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#length++] = Number(v);
  }

  #room(bytes: number): void {
    if (this.#length + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + bytes));
    this.#buf.copy(grown, 0, 0, this.#length);
    this.#buf = grown;
  }
}
