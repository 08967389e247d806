import type { Block } from "../src/block.js";
import { checksumMatches, checksumOf } from "../src/checksum.js";

/**
 * How a {@link Block} is stored as one S3 object.
 *
 * - The body is the block's data, byte for byte, so an operator can read an
 *   object with any S3 tool.
 * - User metadata (`x-amz-meta-…`) carries the data's CRC-32 (`dl-crc32`, decimal)
 *   and, when the block has a tag, the tag's CRC-32 (`dl-tag-crc32`).
 * - A tag of at most {@link MAX_METADATA_TAG_BYTES} travels as base64 in
 *   `dl-tag`: S3 caps all user metadata of an object at 2 KiB. A larger tag is
 *   put ahead of the data in the body and `dl-tag-bytes` says how long it is
 *   (this costs one copy of the data on put; node tags are far smaller).
 *
 * Both checksums are verified on decode, so a damaged tag is caught like
 * damaged data.
 */
export const MAX_METADATA_TAG_BYTES = 768;

const META_CRC = "dl-crc32";
const META_TAG = "dl-tag";
const META_TAG_CRC = "dl-tag-crc32";
const META_TAG_BYTES = "dl-tag-bytes";

export interface EncodedObject {
  readonly body: Uint8Array;
  readonly metadata: Record<string, string>;
}

export function encodeObject(block: Block): EncodedObject {
  const metadata: Record<string, string> = { [META_CRC]: String(block.checksum >>> 0) };
  const tag = block.tag;
  if (tag === undefined) return { body: block.data, metadata };
  metadata[META_TAG_CRC] = String(checksumOf(tag));
  if (tag.length <= MAX_METADATA_TAG_BYTES) {
    metadata[META_TAG] = Buffer.from(tag.buffer, tag.byteOffset, tag.length).toString("base64");
    return { body: block.data, metadata };
  }
  metadata[META_TAG_BYTES] = String(tag.length);
  return { body: Buffer.concat([tag, block.data]), metadata };
}

/**
 * The block an object holds, or `undefined` when the object is damaged: data or
 * tag fail their checksum, or the metadata is missing or malformed.
 */
export function decodeObject(metadata: Record<string, string> | undefined, body: Uint8Array): Block | undefined {
  const checksum = parseUint32(metadata?.[META_CRC]);
  const tagBytes = metadata?.[META_TAG_BYTES] === undefined ? 0 : parseUint32(metadata[META_TAG_BYTES]);
  if (checksum === undefined || tagBytes === undefined || tagBytes > body.length) return undefined;
  const data = body.subarray(tagBytes);
  if (!checksumMatches(data, checksum)) return undefined;
  const tag = readTag(metadata ?? {}, body, tagBytes);
  if (tag === null) return undefined;
  return tag === undefined ? { data, checksum } : { data, checksum, tag };
}

/**
 * The tag, `undefined` when the block has none, `null` when it is damaged. An
 * empty inline tag may come back without its (empty) metadata value, so a tag
 * checksum with neither `dl-tag` nor `dl-tag-bytes` means an empty tag.
 */
function readTag(metadata: Record<string, string>, body: Uint8Array, tagBytes: number): Uint8Array | undefined | null {
  const tagCrc = metadata[META_TAG_CRC];
  if (tagCrc === undefined) return undefined;
  const inline = metadata[META_TAG];
  const tag = inline !== undefined ? new Uint8Array(Buffer.from(inline, "base64")) : body.subarray(0, tagBytes);
  const expected = parseUint32(tagCrc);
  return expected !== undefined && checksumMatches(tag, expected) ? tag : null;
}

function parseUint32(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const value = Number(text);
  return value <= 0xffff_ffff ? value : undefined;
}
