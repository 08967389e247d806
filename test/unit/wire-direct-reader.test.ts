import { createServer, type AddressInfo, type Socket } from "node:net";
import { connect } from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { checksumOf } from "../../src/checksum.js";
import { ErrorCode } from "../../src/errors.js";
import { DirectReader } from "../../src/wire/direct-reader.js";
import { responseParser } from "../../src/wire/frame-parser.js";
import { encodeResponseHeader, type ResponseFrame } from "../../src/wire/frames.js";
import { Status, type WireLimits } from "../../src/wire/protocol.js";

const LIMITS: WireLimits = { maxBlockBytes: 8 << 20, maxTagBytes: 1024 };

function reply(requestId: number, body: Buffer, tag?: Buffer): Buffer {
  const header = encodeResponseHeader({ status: Status.OK, requestId, checksum: checksumOf(body), tagLength: tag?.length ?? 0, bodyLength: body.length });
  return Buffer.concat([header, tag ?? Buffer.alloc(0), body]);
}

/** Plays `stream` into a reader the way net's onread does: each read fills at most `cut` bytes of the buffer it is given. */
function playOnread(reader: DirectReader<ResponseFrame>, stream: Buffer, cut: number): void {
  for (let at = 0; at < stream.length; ) {
    const target = reader.onread.buffer();
    const n = Math.min(cut, target.length, stream.length - at);
    stream.copy(target, 0, at, at + n);
    reader.onread.callback(n, target);
    at += n;
  }
}

describe("DirectReader", () => {
  const bodies = [Buffer.alloc(0), Buffer.from("x"), Buffer.alloc(70_000, 3), Buffer.alloc(3 << 20, 9)];
  const stream = Buffer.concat(bodies.map((b, i) => reply(i + 1, b, i === 2 ? Buffer.from("tag") : undefined)));

  for (const cut of [1, 23, 24, 4096, 65_536, 1 << 30]) {
    it(`parses replies read in pieces of at most ${cut} bytes, bodies filled in place`, () => {
      const frames: ResponseFrame[] = [];
      const reader = new DirectReader(responseParser(LIMITS));
      reader.attach({ frames: (f) => frames.push(...f), fail: (err) => { throw err; } });
      playOnread(reader, stream, cut);
      expect(frames.map((f) => f.requestId)).toEqual([1, 2, 3, 4]);
      frames.forEach((f, i) => expect(f.body.equals(bodies[i]!)).toBe(true));
      expect(frames[2]!.tag?.toString()).toBe("tag");
    });
  }

  it("hands frames and a failure that arrived before attach to the sink", () => {
    const reader = new DirectReader(responseParser(LIMITS));
    playOnread(reader, reply(5, Buffer.from("early")), 1 << 20);
    playOnread(reader, Buffer.alloc(24, 0xee), 1 << 20);
    const frames: ResponseFrame[] = [];
    const failures: unknown[] = [];
    reader.attach({ frames: (f) => frames.push(...f), fail: (err) => failures.push(err) });
    expect(frames.map((f) => f.body.toString())).toEqual(["early"]);
    expect(failures).toEqual([expect.objectContaining({ code: ErrorCode.PROTOCOL })]);
  });

  it("reads a real socket through net's onread option", async () => {
    const big = Buffer.alloc(2 << 20, 5);
    const server = createServer((s: Socket) => s.end(Buffer.concat([reply(1, big), reply(2, Buffer.from("end"))])));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const reader = new DirectReader(responseParser(LIMITS));
      const frames: ResponseFrame[] = [];
      reader.attach({ frames: (f) => frames.push(...f), fail: (err) => { throw err; } });
      const socket = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, onread: reader.onread });
      await once(socket, "close");
      expect(frames.map((f) => f.requestId)).toEqual([1, 2]);
      expect(frames[0]!.body.equals(big)).toBe(true);
    } finally {
      server.close();
    }
  });
});
