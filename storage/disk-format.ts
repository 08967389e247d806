import type { Block } from "../src/block.js";
import { checksumMatches, checksumOf } from "../src/checksum.js";

/**
 * The on-disk form of one block: a fixed header, then the tag, then the data.
 *
 *   offset size field
 *        0    4 magic "DLKB"
 *        4    2 version (1), u16 BE
 *        6    2 reserved, zero
 *        8    4 CRC-32 of the data (the block's checksum)
 *       12    4 CRC-32 of the tag
 *       16    8 data length, u64 BE
 *       24    4 tag length, u32 BE
 *       28    4 CRC-32 of bytes 0..27
 *
 * The header's own CRC lets a warm restart trust the lengths after reading only
 * 32 bytes; the tag has its own CRC because the node re-advertises blocks from it.
 */
export const HEADER_BYTES = 32;

const MAGIC = 0x444c4b42; // "DLKB"
const VERSION = 1;

export interface BlockHeader {
  readonly checksum: number;
  readonly tagChecksum: number;
  readonly dataLength: number;
  readonly tagLength: number;
}

export function encodeHeader(block: Block): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt16BE(VERSION, 4);
  header.writeUInt32BE(block.checksum >>> 0, 8);
  header.writeUInt32BE(checksumOf(block.tag ?? new Uint8Array()), 12);
  header.writeBigUInt64BE(BigInt(block.data.byteLength), 16);
  header.writeUInt32BE(block.tag?.byteLength ?? 0, 24);
  header.writeUInt32BE(checksumOf(header.subarray(0, 28)), 28);
  return header;
}

/** The header at the start of `bytes`, or undefined when it is not a valid block header. */
export function decodeHeader(bytes: Buffer): BlockHeader | undefined {
  if (bytes.length < HEADER_BYTES) return undefined;
  if (bytes.readUInt32BE(0) !== MAGIC || bytes.readUInt16BE(4) !== VERSION) return undefined;
  if (!checksumMatches(bytes.subarray(0, 28), bytes.readUInt32BE(28))) return undefined;
  const dataLength = bytes.readBigUInt64BE(16);
  if (dataLength > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return {
    checksum: bytes.readUInt32BE(8),
    tagChecksum: bytes.readUInt32BE(12),
    dataLength: Number(dataLength),
    tagLength: bytes.readUInt32BE(24),
  };
}

/** Total file length a header promises. */
export function fileLength(header: BlockHeader): number {
  return HEADER_BYTES + header.tagLength + header.dataLength;
}

/**
 * The block stored in a whole file, or undefined when anything fails to verify
 * (header, length, tag or data checksum). Data and tag are views of `bytes`.
 */
export function decodeBlockFile(bytes: Buffer): Block | undefined {
  const header = decodeHeader(bytes);
  if (header === undefined || bytes.length !== fileLength(header)) return undefined;
  const tag = bytes.subarray(HEADER_BYTES, HEADER_BYTES + header.tagLength);
  const data = bytes.subarray(HEADER_BYTES + header.tagLength);
  if (!checksumMatches(tag, header.tagChecksum) || !checksumMatches(data, header.checksum)) return undefined;
  return header.tagLength === 0 ? { data, checksum: header.checksum } : { data, checksum: header.checksum, tag };
}
