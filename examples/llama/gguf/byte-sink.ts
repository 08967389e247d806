/**
 * A growable little-endian byte buffer: GGUF stores every number little-endian,
 * counts and lengths as uint64 and strings as a uint64 length then UTF-8 bytes.
 */
export class ByteSink {
  #buf = Buffer.alloc(4096);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  u8(v: number): this {
    this.#room(1).writeUInt8(v, this.#len);
    return this.#advance(1);
  }

  i32(v: number): this {
    this.#room(4).writeInt32LE(v, this.#len);
    return this.#advance(4);
  }

  u32(v: number): this {
    this.#room(4).writeUInt32LE(v, this.#len);
    return this.#advance(4);
  }

  u64(v: number | bigint): this {
    this.#room(8).writeBigUInt64LE(BigInt(v), this.#len);
    return this.#advance(8);
  }

  f32(v: number): this {
    this.#room(4).writeFloatLE(v, this.#len);
    return this.#advance(4);
  }

  bytes(b: Uint8Array): this {
    this.#room(b.length).set(b, this.#len);
    return this.#advance(b.length);
  }

  /** A GGUF string: uint64 byte length, then the UTF-8 bytes (no terminator). */
  str(s: string): this {
    const utf8 = Buffer.from(s, "utf8");
    return this.u64(utf8.length).bytes(utf8);
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): this {
    const extra = (alignment - (this.#len % alignment)) % alignment;
    this.#room(extra).fill(0, this.#len, this.#len + extra);
    return this.#advance(extra);
  }

  /** The bytes written so far (a view: copy it before writing more). */
  view(): Buffer {
    return this.#buf.subarray(0, this.#len);
  }

  #room(n: number): Buffer {
    if (this.#len + n > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(this.#buf.length * 2, this.#len + n));
      this.#buf.copy(grown, 0, 0, this.#len);
      this.#buf = grown;
    }
    return this.#buf;
  }

  #advance(n: number): this {
    this.#len += n;
    return this;
  }
}
