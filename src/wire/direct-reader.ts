/** The parts of a FrameParser a reader drives. */
export interface PullParser<F> {
  push(chunk: Buffer): F[];
  target(): Buffer | undefined;
  filled(n: number): F[];
}

/** Where a reader hands what it parsed. */
export interface FrameSinkOf<F> {
  frames(frames: F[]): void;
  /** The parser refused the stream (ERR_PROTOCOL); nothing more is delivered. */
  fail(err: unknown): void;
}

/** Header bytes (and whatever follows them in the same read) land here, then are parsed out. */
const SCRATCH_BYTES = 64 * 1024;

/**
 * Feeds a FrameParser (src/wire/frame-parser.ts) from a socket. Through net's `onread` option
 * ({@link onread}) the kernel writes payload bytes straight into the buffer of
 * the frame being received (its `target()`), in reads as large as
 * what is left of it: one read and no copy per body where 'data' events cost a
 * 64 KiB read, a fresh buffer and a copy each. Headers go through a reused
 * scratch buffer. Sockets that cannot take `onread` (TLS) {@link push} their
 * 'data' chunks instead, with the parser's usual single copy.
 *
 * A sink attached after bytes arrived gets what was parsed meanwhile.
 */
export class DirectReader<F> {
  readonly #parser: PullParser<F>;
  readonly #scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  #sink: FrameSinkOf<F> | undefined;
  #early: F[] = [];
  #earlyError: { err: unknown } | undefined;
  #failed = false;

  /** The `onread` option of net.connect / new net.Socket. */
  readonly onread = {
    buffer: (): Uint8Array => this.#parser.target() ?? this.#scratch,
    callback: (n: number, buf: Uint8Array): boolean => {
      this.#read(n, buf);
      return true; // false would stop reading
    },
  };

  constructor(parser: PullParser<F>) {
    this.#parser = parser;
  }

  attach(sink: FrameSinkOf<F>): void {
    this.#sink = sink;
    if (this.#early.length > 0) sink.frames(this.#early.splice(0));
    if (this.#earlyError !== undefined) sink.fail(this.#earlyError.err);
  }

  /** A 'data' chunk of a socket read the usual way. */
  push(chunk: Buffer): void {
    this.#parse(() => this.#parser.push(chunk));
  }

  #read(n: number, buf: Uint8Array): void {
    this.#parse(() => (buf === this.#scratch ? this.#parser.push(this.#scratch.subarray(0, n)) : this.#parser.filled(n)));
  }

  #parse(step: () => F[]): void {
    if (this.#failed) return;
    let frames: F[];
    try {
      frames = step();
    } catch (err) {
      this.#failed = true;
      if (this.#sink === undefined) this.#earlyError = { err };
      else this.#sink.fail(err);
      return;
    }
    if (frames.length === 0) return;
    if (this.#sink === undefined) this.#early.push(...frames);
    else this.#sink.frames(frames);
  }
}
