import { checksumOf } from "./checksum.js";
import { ErrorCode, KvCacheError } from "./errors.js";
import { describeType } from "./keys.js";
import { randomBytes } from "node:crypto";

/**
 * A block id: 32 lowercase hex characters (128 random bits), made once per insert.
 * Ids are the only thing that ever names a file or an S3 object, so they are
 * validated everywhere they enter ({@link assertBlockId}) and can never form a path.
 */
export type BlockId = string;

const BLOCK_ID = /^[0-9a-f]{32}$/;

export function newBlockId(): BlockId {
  return randomBytes(16).toString("hex");
}

export function isBlockId(value: unknown): value is BlockId {
  return typeof value === "string" && BLOCK_ID.test(value);
}

/** Throws ERR_INVALID_ARGUMENT unless `id` is a well-formed block id. */
export function assertBlockId(id: unknown): asserts id is BlockId {
  if (!isBlockId(id)) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `invalid block id ${JSON.stringify(String(id)).slice(0, 80)}: expected 32 lowercase hex characters`);
  }
}

/**
 * A block as the tiers hold it. `data` is owned by whoever holds the Block after
 * a put: tiers may keep the same Uint8Array without copying, and callers must not
 * mutate `data` after handing it over (nor mutate what a get returned).
 */
export interface Block {
  /** Payload bytes. */
  readonly data: Uint8Array;
  /** CRC-32 of `data` computed at insert ({@link checksumOf}); verified on every read. */
  readonly checksum: number;
  /**
   * Opaque owner tag kept with the block (the node stores namespace + encoded key
   * here so a warm restart can re-advertise the block). At most {@link MAX_TAG_BYTES}.
   */
  readonly tag?: Uint8Array;
}

export const MAX_TAG_BYTES = 1 << 20;

/** Builds a block over `data`, computing its checksum. */
export function makeBlock(data: Uint8Array, tag?: Uint8Array): Block {
  return tag === undefined ? { data, checksum: checksumOf(data) } : { data, checksum: checksumOf(data), tag };
}

/**
 * Normalises caller data (Buffer, Uint8Array or string) to bytes without copying
 * binary input. Throws ERR_INVALID_DATA for anything else and ERR_BLOCK_TOO_LARGE
 * past `maxBlockBytes`.
 */
export function toBlockBytes(data: unknown, maxBlockBytes: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof data === "string") bytes = Buffer.from(data, "utf8");
  else if (data instanceof Uint8Array) bytes = data;
  else {
    throw new KvCacheError(ErrorCode.INVALID_DATA, `data must be a Buffer, Uint8Array or string; got ${describeType(data)}`);
  }
  if (bytes.length > maxBlockBytes) {
    throw new KvCacheError(
      ErrorCode.BLOCK_TOO_LARGE,
      `block is ${bytes.length} bytes; the limit (limits.maxBlockBytes) is ${maxBlockBytes}`,
      { details: { size: bytes.length, limit: maxBlockBytes } },
    );
  }
  return bytes;
}
