import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { newBlockId } from "../../src/block.js";
import { checksumOf } from "../../src/checksum.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { requestParser, responseParser } from "../../src/wire/frame-parser.js";
import { encodeRequestHeader, encodeResponseHeader, writeFrame, type FrameSink } from "../../src/wire/frames.js";
import { decodeErrorBody, encodeErrorBody } from "../../src/wire/messages.js";
import { MAX_JSON_BYTES, Op, Status, VERSION, type WireLimits } from "../../src/wire/protocol.js";

const LIMITS: WireLimits = { maxBlockBytes: 1 << 20, maxTagBytes: 1024 };

/** A sink that records the buffers written and how they were corked. */
function recordingSink(): FrameSink & { parts: Uint8Array[]; corks: number; bytes(): Buffer } {
  const parts: Uint8Array[] = [];
  let depth = 0;
  const sink = {
    parts,
    corks: 0,
    cork: () => { depth++; sink.corks++; },
    uncork: () => { depth--; },
    write: (chunk: Uint8Array) => { expect(depth).toBe(1); parts.push(chunk); return true; },
    bytes: () => Buffer.concat(parts),
  };
  return sink;
}

function putFrame(data: Buffer, tag?: Buffer, id = newBlockId(), requestId = 7): { bytes: Buffer; id: string; parts: Uint8Array[] } {
  const sink = recordingSink();
  const header = encodeRequestHeader({ op: Op.PUT, requestId, blockId: id, checksum: checksumOf(data), tagLength: tag?.length ?? 0, dataLength: data.length });
  writeFrame(sink, header, tag, data);
  return { bytes: sink.bytes(), id, parts: sink.parts };
}

function expectProtocolError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KvCacheError);
    expect((err as KvCacheError).code).toBe(ErrorCode.PROTOCOL);
    expect((err as KvCacheError).message).toMatch(pattern);
    return;
  }
  throw new Error("expected ERR_PROTOCOL");
}

describe("wire frames", () => {
  it("round-trips a PUT request with tag and data, written as separate buffers", () => {
    const data = randomBytes(5000);
    const tag = Buffer.from("tag-bytes");
    const { bytes, id, parts } = putFrame(data, tag);
    expect(parts).toHaveLength(3);
    expect(parts[2]).toBe(data); // the payload itself, not a copy
    const [frame, ...rest] = requestParser(LIMITS).push(bytes);
    expect(rest).toEqual([]);
    expect(frame).toMatchObject({ op: Op.PUT, requestId: 7, blockId: id, checksum: checksumOf(data), flags: 0 });
    expect(frame!.tag).toEqual(tag);
    expect(frame!.data.equals(data)).toBe(true);
  });

  it("round-trips a GET reply and empty frames (no tag, 0-byte body)", () => {
    const body = randomBytes(3000);
    const sink = recordingSink();
    writeFrame(sink, encodeResponseHeader({ status: Status.OK, requestId: 0xffffffff, checksum: checksumOf(body), tagLength: 2, bodyLength: body.length }), Buffer.from("ab"), body);
    writeFrame(sink, encodeResponseHeader({ status: Status.NOT_FOUND, requestId: 3, checksum: 0, tagLength: 0, bodyLength: 0 }));
    const frames = responseParser(LIMITS).push(sink.bytes());
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ status: Status.OK, requestId: 0xffffffff, checksum: checksumOf(body) });
    expect(frames[0]!.body.equals(body)).toBe(true);
    expect(frames[0]!.tag?.toString()).toBe("ab");
    expect(frames[1]).toMatchObject({ status: Status.NOT_FOUND, requestId: 3, tag: undefined });
    expect(frames[1]!.body.length).toBe(0);
  });

  it("parses frames arriving byte by byte and frames split across chunks at every offset", () => {
    const a = putFrame(randomBytes(100), Buffer.from("t1"), newBlockId(), 1).bytes;
    const b = putFrame(Buffer.alloc(0), undefined, newBlockId(), 2).bytes;
    const stream = Buffer.concat([a, b]);
    const oneByOne = requestParser(LIMITS);
    const frames = [...stream].flatMap((byte) => oneByOne.push(Buffer.from([byte])));
    expect(frames.map((f) => f.requestId)).toEqual([1, 2]);
    expect(frames[1]!.data.length).toBe(0);
    for (let cut = 1; cut < stream.length; cut++) {
      const p = requestParser(LIMITS);
      const got = [...p.push(stream.subarray(0, cut)), ...p.push(stream.subarray(cut))];
      expect(got.map((f) => f.requestId)).toEqual([1, 2]);
      expect(p.midFrame).toBe(false);
    }
  });

  it("reports midFrame while a frame is incomplete", () => {
    const { bytes } = putFrame(randomBytes(10));
    const p = requestParser(LIMITS);
    expect(p.push(bytes.subarray(0, 45))).toEqual([]);
    expect(p.midFrame).toBe(true);
    expect(p.push(bytes.subarray(45))).toHaveLength(1);
    expect(p.midFrame).toBe(false);
  });
});

describe("malformed frames", () => {
  const header = (patch: (b: Buffer) => void): Buffer => {
    const b = encodeRequestHeader({ op: Op.GET, requestId: 1, blockId: newBlockId(), checksum: 0, tagLength: 0, dataLength: 0 });
    patch(b);
    return b;
  };

  it("rejects a bad magic, another version and an unknown op", () => {
    expectProtocolError(() => requestParser(LIMITS).push(header((b) => b.write("HTTP", 0))), /bad magic/);
    expectProtocolError(() => requestParser(LIMITS).push(header((b) => (b[4] = VERSION + 1))), /version 2/);
    expectProtocolError(() => requestParser(LIMITS).push(header((b) => (b[5] = 99))), /unknown op 99/);
    expectProtocolError(() => responseParser(LIMITS).push(encodeResponseHeader({ status: 9 as Status, requestId: 1, checksum: 0, tagLength: 0, bodyLength: 0 })), /unknown status 9/);
  });

  it("rejects oversized lengths as soon as the header is complete, without waiting for the payload", () => {
    const huge = (b: Buffer): void => void b.writeUInt32BE(0xffffffff, 36);
    const put = header((b) => { b[5] = Op.PUT; huge(b); });
    expectProtocolError(() => requestParser(LIMITS).push(put), /data length 4294967295 exceeds the limit of 1048576/);
    const bigTag = header((b) => { b[5] = Op.PUT; b.writeUInt32BE(LIMITS.maxTagBytes + 1, 32); });
    expectProtocolError(() => requestParser(LIMITS).push(bigTag), /tag length 1025/);
    // Only PUT carries data.
    expectProtocolError(() => requestParser(LIMITS).push(header((b) => b.writeUInt32BE(1, 36))), /data length 1 exceeds the limit of 0/);
    const bigError = encodeResponseHeader({ status: Status.ERROR, requestId: 1, checksum: 0, tagLength: 0, bodyLength: MAX_JSON_BYTES + 1 });
    expectProtocolError(() => responseParser(LIMITS).push(bigError), /body length/);
  });

  it("stays failed after an error: the stream has lost its framing", () => {
    const p = requestParser(LIMITS);
    const bad = header((b) => (b[5] = 99));
    expectProtocolError(() => p.push(bad), /unknown op/);
    expectProtocolError(() => p.push(putFrame(Buffer.from("x")).bytes), /unknown op/);
  });

  it("encodes errors as {code, message, retryable} and maps foreign errors to ERR_NODE", () => {
    const ours = new KvCacheError(ErrorCode.CHECKSUM_MISMATCH, "bad bytes");
    expect(decodeErrorBody(encodeErrorBody(ours))).toEqual({ code: "ERR_CHECKSUM_MISMATCH", message: "bad bytes", retryable: false });
    expect(decodeErrorBody(encodeErrorBody(new Error("boom")))).toEqual({ code: "ERR_NODE", message: "boom", retryable: true });
    expectProtocolError(() => decodeErrorBody(Buffer.from("[1]")), /not \{code, message\}/);
    expectProtocolError(() => decodeErrorBody(Buffer.from("{")), /not valid JSON/);
  });
});
