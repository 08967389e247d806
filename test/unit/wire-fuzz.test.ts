import { afterEach, describe, expect, it, vi } from "vitest";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import { HelloGate } from "../../src/node/hello-gate.js";
import { requestParser, responseParser, type RequestParser, type ResponseParser } from "../../src/wire/frame-parser.js";
import { encodeRequestHeader, encodeResponseHeader, type RequestFrame } from "../../src/wire/frames.js";
import { encodeHello, SecretVerifier } from "../../src/wire/hello.js";
import { MAGIC, MAX_HELLO_BYTES, MAX_JSON_BYTES, MAX_LEASES_PER_FRAME, MAX_TOUCHES_PER_FRAME, Op, Status, VERSION, type WireLimits } from "../../src/wire/protocol.js";
import { prng } from "../integration/cluster-fixtures.js";

/**
 * A seeded fuzzer for the frame parser (replay a failure with WIRE_FUZZ_SEED).
 * Each case is one byte stream, cut into random chunks, fed to a fresh parser:
 * random bytes, valid frame streams with bytes flipped, cut short or spliced,
 * and headers with random ops and lengths up to 4 GiB. Every case checks the
 * parser's contract: frames within the limits or ERR_PROTOCOL, nothing else,
 * a failed parser stays failed, and no allocation beyond the limits.
 */
const SEED = Number(process.env["WIRE_FUZZ_SEED"] ?? 0x5eed_0007);
const CASES = 120_000;
const LIMITS: WireLimits = { maxBlockBytes: 2048, maxTagBytes: 96 };
const OPS: Op[] = [Op.PUT, Op.GET, Op.DELETE, Op.STATS, Op.PING, Op.HELLO, Op.LOCATE, Op.RELEASE, Op.RESERVE, Op.COMMIT, Op.TOUCH];
const STATUSES = [Status.OK, Status.NOT_FOUND, Status.ERROR];

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
function bytes(r: Rand, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 256) | 0;
  return out;
}

/** Plain checks in the hot loop: vitest's expect costs more than a parse. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`fuzz invariant broken: ${what}`);
}

function isParserError(err: unknown): boolean {
  return err instanceof KvCacheError && (err.code === ErrorCode.PROTOCOL || err.code === ErrorCode.AUTH);
}

/** Most data a request of `op` may carry (`put` for PUT). */
function dataCapOf(op: Op, put: number): number {
  if (op === Op.PUT) return put;
  if (op === Op.HELLO) return MAX_HELLO_BYTES;
  if (op === Op.RESERVE || op === Op.COMMIT) return 4;
  if (op === Op.TOUCH) return 16 * MAX_TOUCHES_PER_FRAME;
  return op === Op.LOCATE || op === Op.RELEASE ? 4 * MAX_LEASES_PER_FRAME : 0;
}

/** Ops whose requests carry a tag. */
const TAGGED: readonly Op[] = [Op.PUT, Op.RESERVE];

/** A valid request frame's bytes: a random op with lengths its op allows. */
function requestFrame(r: Rand): Buffer {
  const op = OPS[int(r, OPS.length)]!;
  const tag = TAGGED.includes(op) ? bytes(r, int(r, LIMITS.maxTagBytes + 1)) : Buffer.alloc(0);
  const dataCap = dataCapOf(op, 600);
  const data = bytes(r, int(r, dataCap + 1));
  const header = encodeRequestHeader({ op, requestId: int(r, 2 ** 32), blockId: op === Op.STATS || op === Op.PING ? "" : bytes(r, 16).toString("hex"), checksum: int(r, 2 ** 32), tagLength: tag.length, dataLength: data.length });
  return Buffer.concat([header, tag, data]);
}

function responseFrame(r: Rand): Buffer {
  const status = STATUSES[int(r, STATUSES.length)]!;
  const body = status === Status.NOT_FOUND ? Buffer.alloc(0) : bytes(r, int(r, 300));
  const tag = status === Status.OK ? bytes(r, int(r, 40)) : Buffer.alloc(0);
  return Buffer.concat([encodeResponseHeader({ status, requestId: int(r, 2 ** 32), checksum: 0, tagLength: tag.length, bodyLength: body.length }), tag, body]);
}

/** A header with the right magic and version, any op byte, and any lengths (often huge). */
function wildHeader(r: Rand, request: boolean): Buffer {
  const out = bytes(r, request ? 40 : 24);
  out.writeUInt32BE(MAGIC, 0);
  out[4] = r() < 0.9 ? VERSION : int(r, 256);
  out[5] = r() < 0.7 ? (request ? OPS : STATUSES)[int(r, request ? OPS.length : STATUSES.length)]! : int(r, 256);
  const lengths = request ? [32, 36] : [16, 20];
  for (const at of lengths) out.writeUInt32BE(r() < 0.5 ? int(r, 2 ** 32) : int(r, 3000), at);
  return out;
}

/** Damages a valid stream: flips, truncates, splices garbage in. */
function mutate(r: Rand, stream: Buffer): Buffer {
  const out = Buffer.from(stream);
  const kind = int(r, 4);
  if (kind === 0) {
    for (let i = 1 + int(r, 4); i > 0; i--) {
      const at = int(r, out.length);
      out[at] = out[at]! ^ (1 << int(r, 8));
    }
  }
  if (kind === 1) return out.subarray(0, int(r, out.length));
  if (kind === 2) {
    const at = int(r, out.length);
    return Buffer.concat([out.subarray(0, at), bytes(r, 1 + int(r, 50)), out.subarray(at)]);
  }
  return out;
}

function chunks(r: Rand, stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < stream.length;) {
    const n = r() < 0.3 ? 1 + int(r, 3) : 1 + int(r, stream.length);
    out.push(stream.subarray(at, at + n));
    at += n;
  }
  return out;
}

interface Outcome {
  frames: number;
  failed: boolean;
}

/** Feeds the chunks and checks the parser's contract on whatever comes out. */
function feed(parser: RequestParser | ResponseParser, parts: readonly Buffer[], request: boolean): Outcome {
  let frames = 0;
  for (const part of parts) {
    let out: unknown[];
    try {
      out = parser.push(part);
    } catch (err) {
      if (!isParserError(err)) throw err;
      check(stillFailed(parser, err), "a failed parser accepted more bytes");
      return { frames, failed: true };
    }
    for (const f of out) request ? checkRequest(f as RequestFrame) : checkResponse(f as { tag?: Buffer; body: Buffer });
    frames += out.length;
  }
  return { frames, failed: false };
}

function stillFailed(parser: RequestParser | ResponseParser, first: unknown): boolean {
  try {
    parser.push(Buffer.alloc(1));
    return false;
  } catch (err) {
    return err === first;
  }
}

const BLOCK_ID = /^[0-9a-f]{32}$/;

function checkRequest(f: RequestFrame): void {
  check(OPS.includes(f.op) && BLOCK_ID.test(f.blockId), `request op ${f.op}, id ${f.blockId}`);
  const cap = dataCapOf(f.op, LIMITS.maxBlockBytes);
  check(f.data.length <= cap && (f.tag?.length ?? 0) <= (TAGGED.includes(f.op) ? LIMITS.maxTagBytes : 0), `op ${f.op} frame over its limits (data ${f.data.length})`);
}

function checkResponse(f: { tag?: Buffer; body: Buffer }): void {
  check(f.body.length <= Math.max(LIMITS.maxBlockBytes, MAX_JSON_BYTES) && (f.tag?.length ?? 0) <= LIMITS.maxTagBytes, "response over the limits");
}

/** One case of kind `k`; returns what the parser did. */
function runCase(r: Rand, k: number): Outcome & { valid: number } {
  const request = k % 2 === 0;
  const parser = request ? requestParser(LIMITS) : responseParser(LIMITS);
  const frame = (): Buffer => (request ? requestFrame(r) : responseFrame(r));
  const valid = Array.from({ length: 1 + int(r, 3) }, frame);
  const stream = [
    () => bytes(r, int(r, 200)),
    () => mutate(r, Buffer.concat(valid)),
    () => Buffer.concat([wildHeader(r, request), bytes(r, int(r, 64))]),
    () => Buffer.concat(valid),
  ][k % 8 >> 1]!();
  const outcome = feed(parser, chunks(r, stream), request);
  if (k % 8 >> 1 === 3) check(outcome.frames === valid.length && !outcome.failed && !parser.midFrame, "an intact stream did not parse back whole");
  return { ...outcome, valid: valid.length };
}

describe("wire parser fuzzing (seeded)", () => {
  afterEach(() => vi.restoreAllMocks());

  it(`${CASES.toLocaleString("en")} random, mutated and wild-header streams: frames within limits or ERR_PROTOCOL, never a crash or an oversized allocation`, () => {
    let largest = 0;
    vi.spyOn(Buffer, "allocUnsafeSlow").mockImplementation(((size: number) => {
      largest = Math.max(largest, size);
      return Buffer.alloc(size);
    }) as typeof Buffer.allocUnsafeSlow);
    const r = prng(SEED);
    const tally = { cases: 0, failed: 0, frames: 0 };
    for (let k = 0; k < CASES; k++) {
      const { frames, failed } = runCase(r, k);
      tally.cases++;
      tally.frames += frames;
      if (failed) tally.failed++;
    }
    expect(tally.cases).toBeGreaterThanOrEqual(100_000);
    // Both outcomes must be common, or the fuzzer is not reaching past the header checks.
    expect(tally.failed).toBeGreaterThan(CASES / 10);
    expect(tally.frames).toBeGreaterThan(CASES / 2);
    expect(largest).toBeLessThanOrEqual(Math.max(LIMITS.maxBlockBytes, MAX_JSON_BYTES));
  });

  it("20,000 streams through an authenticating gate: no frame but a HELLO is ever admitted before the right secret", () => {
    const verifier = new SecretVerifier("the-cluster-secret-0123");
    const r = prng(SEED + 1);
    let admittedBeforeAuth = 0;
    let authenticated = 0;
    for (let k = 0; k < 20_000; k++) {
      const gate = new HelloGate(verifier);
      const parser = requestParser(LIMITS, (h) => gate.admit(h));
      const hello = encodeHello(r() < 0.5 ? "the-cluster-secret-0123" : "wrong-secret-but-long-enough");
      const lead = r() < 0.6 ? [Buffer.concat([hello.header, hello.data])] : [];
      const stream = Buffer.concat([...lead, ...Array.from({ length: 1 + int(r, 3) }, () => requestFrame(r))]);
      try {
        for (const part of chunks(r, r() < 0.3 ? mutate(r, stream) : stream)) {
          for (const f of parser.push(part)) {
            if (f.op === Op.HELLO) gate.hello(f);
            else if (!gate.authenticated) admittedBeforeAuth++;
          }
        }
      } catch (err) {
        if (!isParserError(err)) throw err;
      }
      if (gate.authenticated) authenticated++;
    }
    expect(admittedBeforeAuth).toBe(0);
    expect(authenticated).toBeGreaterThan(1000);
  });
});
