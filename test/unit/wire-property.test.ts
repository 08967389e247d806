import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumOf } from "../../src/checksum.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { requestParser, responseParser, type RequestParser, type ResponseParser } from "../../src/wire/frame-parser.js";
import { encodeRequestHeader, writeFrame } from "../../src/wire/frames.js";
import { MAGIC, Op, VERSION, type WireLimits } from "../../src/wire/protocol.js";

const LIMITS: WireLimits = { maxBlockBytes: 4096, maxTagBytes: 64 };

/** Feeds `chunks`; returns the frames, or the error, which must be ERR_PROTOCOL. */
function feed(parser: RequestParser | ResponseParser, chunks: readonly Uint8Array[]): { frames: number; error?: KvCacheError } {
  let frames = 0;
  try {
    for (const c of chunks) frames += parser.push(Buffer.from(c)).length;
    return { frames };
  } catch (err) {
    expect(err).toBeInstanceOf(KvCacheError);
    expect((err as KvCacheError).code).toBe(ErrorCode.PROTOCOL);
    return { frames, error: err as KvCacheError };
  }
}

/** Byte streams that often start like a real header, so the fuzzing reaches past the magic check. */
const plausibleStream = fc.tuple(fc.constantFrom(Op.PUT, Op.GET, Op.DELETE, Op.STATS, Op.PING, Op.HELLO, 0, 200), fc.uint8Array({ maxLength: 300 }))
  .map(([op, rest]) => {
    const head = Buffer.alloc(6);
    head.writeUInt32BE(MAGIC, 0);
    head[4] = VERSION;
    head[5] = op;
    return Uint8Array.from([...head, ...rest]);
  });

describe("FrameParser properties", () => {
  it("never crashes on arbitrary byte streams: frames or ERR_PROTOCOL, nothing else", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), plausibleStream), { maxLength: 8 }), fc.boolean(), (chunks, asResponse) => {
        const parser = asResponse ? responseParser(LIMITS) : requestParser(LIMITS);
        const { frames, error } = feed(parser, chunks);
        expect(frames).toBeGreaterThanOrEqual(0);
        if (error !== undefined) expect(() => parser.push(Buffer.alloc(1))).toThrow(error);
      }),
      { numRuns: 3000 },
    );
  });

  it("parses any sequence of valid PUT frames however the stream is cut", () => {
    const frame = fc.record({ data: fc.uint8Array({ maxLength: 512 }), tag: fc.uint8Array({ maxLength: 64 }), requestId: fc.nat() });
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const parts: Uint8Array[] = [];
        const sink = { cork: () => undefined, uncork: () => undefined, write: (c: Uint8Array) => parts.push(c) > 0 };
        for (const f of frames) {
          const header = encodeRequestHeader({ op: Op.PUT, requestId: f.requestId, blockId: "ab".repeat(16), checksum: checksumOf(f.data), tagLength: f.tag.length, dataLength: f.data.length });
          writeFrame(sink, header, f.tag, f.data);
        }
        const stream = Buffer.concat(parts);
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((start, i) => stream.subarray(start, [...points, stream.length][i]));
        const parser = requestParser(LIMITS);
        const got = chunks.flatMap((c) => parser.push(c));
        expect(got.map((g) => g.requestId)).toEqual(frames.map((f) => f.requestId));
        got.forEach((g, i) => {
          expect(Buffer.compare(g.data, frames[i]!.data)).toBe(0);
          expect(g.tag === undefined ? 0 : Buffer.compare(g.tag, frames[i]!.tag)).toBe(0);
          expect(g.checksum).toBe(checksumOf(frames[i]!.data));
        });
      }),
      { numRuns: 1000 },
    );
  });
});
