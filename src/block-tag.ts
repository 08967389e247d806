import { ErrorCode, KvCacheError } from "./errors.js";
import type { EncodedKey } from "./keys.js";

/**
 * The owner tag a cache node keeps with each block (see Block.tag): which
 * namespace and key the block was inserted under. It lets a node keep metadata
 * true when the block moves between tiers, and re-advertise it after a warm
 * restart, without any other index.
 *
 * Layout: version u8 (1) | kind u8 (0 str, 1 tok) | namespace length u16 BE |
 * namespace UTF-8 | key bytes (the rest).
 */
export interface BlockOwner {
  readonly namespace: string;
  readonly key: EncodedKey;
}

const VERSION = 1;

export function encodeBlockTag(owner: BlockOwner): Uint8Array {
  const ns = Buffer.from(owner.namespace, "utf8");
  if (ns.length > 0xffff) throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, "namespace too long for a block tag");
  const out = Buffer.allocUnsafe(4 + ns.length + owner.key.bytes.length);
  out[0] = VERSION;
  out[1] = owner.key.kind === "str" ? 0 : 1;
  out.writeUInt16BE(ns.length, 2);
  ns.copy(out, 4);
  out.set(owner.key.bytes, 4 + ns.length);
  return out;
}

/** Parses a tag; `undefined` when it is absent or not a tag this version wrote. */
export function decodeBlockTag(tag: Uint8Array | undefined): BlockOwner | undefined {
  if (tag === undefined || tag.length < 4 || tag[0] !== VERSION || (tag[1] !== 0 && tag[1] !== 1)) return undefined;
  const buf = Buffer.from(tag.buffer, tag.byteOffset, tag.length);
  const nsLength = buf.readUInt16BE(2);
  if (4 + nsLength > buf.length) return undefined;
  const namespace = buf.toString("utf8", 4, 4 + nsLength);
  const bytes = buf.subarray(4 + nsLength);
  if (bytes.length === 0) return undefined;
  return { namespace, key: { kind: tag[1] === 0 ? "str" : "tok", bytes: Uint8Array.from(bytes) } };
}
