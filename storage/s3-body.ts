import { Readable } from "node:stream";

/** A GetObject body as the SDK hands it out (a Node stream under the Node HTTP handler). */
export interface ResponseBody {
  transformToByteArray?: () => Promise<Uint8Array>;
}

/**
 * Reads a response body to its end into one buffer of `expectedBytes`
 * (Content-Length) when known. The body is always consumed or destroyed: on an
 * abort of `signal`, a read error or a length mismatch the stream is destroyed,
 * so the socket goes back to the pool or is closed instead of leaking.
 * A length mismatch throws (a transport fault, not a damaged object).
 */
export async function readBody(body: unknown, expectedBytes: number | undefined, signal: AbortSignal): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (!(body instanceof Readable)) return readOther(body as ResponseBody, signal);
  const destroy = (): void => void body.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
  signal.addEventListener("abort", destroy, { once: true });
  try {
    signal.throwIfAborted();
    return expectedBytes === undefined ? await collect(body) : await fill(body, expectedBytes);
  } catch (err) {
    body.destroy();
    throw err;
  } finally {
    signal.removeEventListener("abort", destroy);
  }
}

async function fill(body: Readable, expectedBytes: number): Promise<Uint8Array> {
  const out = Buffer.allocUnsafe(expectedBytes);
  let offset = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (offset + chunk.length > expectedBytes) throw lengthError(expectedBytes, offset + chunk.length);
    chunk.copy(out, offset);
    offset += chunk.length;
  }
  if (offset !== expectedBytes) throw lengthError(expectedBytes, offset);
  return out;
}

async function collect(body: Readable): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Non-stream bodies (other request handlers): the SDK's own reader; the request's abort signal cancels it. */
async function readOther(body: ResponseBody, signal: AbortSignal): Promise<Uint8Array> {
  if (typeof body.transformToByteArray !== "function") throw new TypeError("unsupported S3 response body type");
  signal.throwIfAborted();
  return body.transformToByteArray();
}

function lengthError(expected: number, got: number): Error {
  return Object.assign(new Error(`S3 response body length ${got} does not match Content-Length ${expected}`), { code: "ERR_STREAM_PREMATURE_CLOSE" });
}
