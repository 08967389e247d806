import type { BlockId } from "../block.js";
import { protocolError } from "./frames.js";
import { BLOCK_ID_BYTES, LOCATION_BYTES, MAX_LEASES_PER_FRAME, MAX_TOUCHES_PER_FRAME } from "./protocol.js";

/** Where a LOCATE reply says a block's bytes are in the node's shared memory file. */
export interface Location {
  readonly offset: number;
  readonly length: number;
  readonly lease: number;
}

export function encodeLocation(where: Location): Buffer {
  const out = Buffer.allocUnsafe(LOCATION_BYTES);
  out.writeBigUInt64BE(BigInt(where.offset), 0);
  out.writeUInt32BE(where.length, 8);
  out.writeUInt32BE(where.lease >>> 0, 12);
  return out;
}

export function decodeLocation(body: Buffer): Location {
  if (body.length !== LOCATION_BYTES) throw protocolError(`LOCATE answered a ${body.length}-byte body; expected ${LOCATION_BYTES}`);
  const offset = body.readBigUInt64BE(0);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError(`LOCATE answered offset ${offset}, past any file`);
  return { offset: Number(offset), length: body.readUInt32BE(8), lease: body.readUInt32BE(12) };
}

/** A LOCATE's or RELEASE's data: the leases, u32 each (at most {@link MAX_LEASES_PER_FRAME}). */
export function encodeLeases(leases: readonly number[]): Buffer {
  if (leases.length > MAX_LEASES_PER_FRAME) throw new RangeError(`${leases.length} leases in one frame; the most is ${MAX_LEASES_PER_FRAME}`);
  const out = Buffer.allocUnsafe(4 * leases.length);
  leases.forEach((lease, i) => out.writeUInt32BE(lease >>> 0, 4 * i));
  return out;
}

export function decodeLeases(data: Buffer): number[] {
  if (data.length % 4 !== 0) throw protocolError(`lease list of ${data.length} bytes is not a multiple of 4`);
  return Array.from({ length: data.length / 4 }, (_, i) => data.readUInt32BE(4 * i));
}

/** A TOUCH's data: the block ids, 16 raw bytes each (at most {@link MAX_TOUCHES_PER_FRAME}). */
export function encodeBlockIds(ids: readonly BlockId[]): Buffer {
  if (ids.length > MAX_TOUCHES_PER_FRAME) throw new RangeError(`${ids.length} block ids in one frame; the most is ${MAX_TOUCHES_PER_FRAME}`);
  const out = Buffer.allocUnsafe(BLOCK_ID_BYTES * ids.length);
  ids.forEach((id, i) => out.write(id, BLOCK_ID_BYTES * i, BLOCK_ID_BYTES, "hex"));
  return out;
}

export function decodeBlockIds(data: Buffer): BlockId[] {
  if (data.length % BLOCK_ID_BYTES !== 0) throw protocolError(`block id list of ${data.length} bytes is not a multiple of ${BLOCK_ID_BYTES}`);
  return Array.from({ length: data.length / BLOCK_ID_BYTES }, (_, i) => data.toString("hex", BLOCK_ID_BYTES * i, BLOCK_ID_BYTES * (i + 1)));
}
