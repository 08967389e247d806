import { MAX_TAG_BYTES } from "../block.js";
import type { LimitsConfig } from "../config.js";

/**
 * The node data protocol: binary frames over a persistent TCP (or TLS)
 * connection, opened with a HELLO when the cluster has a secret.
 *
 * Request  (40-byte header): magic "DLKV" | version u8 | op u8 | flags u16 |
 *   requestId u32 | blockId 16 raw bytes | checksum u32 | tagLength u32 |
 *   dataLength u32, then `tagLength` tag bytes, then `dataLength` data bytes.
 * Response (24-byte header): magic "DLKV" | version u8 | status u8 | flags u16 |
 *   requestId u32 | checksum u32 | tagLength u32 | bodyLength u32, then tag,
 *   then body: block data (GET), JSON {code, message, retryable} (ERROR),
 *   JSON PeerStats (STATS), nothing otherwise.
 *
 * All integers big-endian. A response echoes its request's id. Flags are
 * reserved: senders write 0 and receivers ignore them, so a later version can
 * give them meaning without breaking older peers. A frame with a bad magic,
 * another version, an unknown op or status, or a length over the receiver's
 * limits is a protocol error: the receiver answers ERR_PROTOCOL (when it is the
 * node) and closes the connection, since the byte stream can no longer be trusted.
 */
export const MAGIC = 0x444c4b56; // "DLKV"
export const VERSION = 1;
export const REQUEST_HEADER_BYTES = 40;
export const RESPONSE_HEADER_BYTES = 24;
export const BLOCK_ID_BYTES = 16;

export const Op = {
  PUT: 1,
  GET: 2,
  DELETE: 3,
  STATS: 4,
  PING: 5,
  /**
   * Connection set-up: the client's first frame on every connection when the
   * cluster has a shared secret (auth.secret), its data the secret's UTF-8
   * bytes (see hello.ts). The node answers OK, or ERROR ERR_AUTH with request
   * id 0 and closes. Until that OK a node with a secret admits no other op, and
   * the client sends nothing else. A node without a secret answers OK to any HELLO.
   */
  HELLO: 6,
  /**
   * Same-host reads through the node's shared memory file (src/shared-memory-file.ts),
   * only to nodes that advertise one. The request names a block; its data is a
   * list of leases to release first (u32 each, at most MAX_LEASES_PER_FRAME),
   * so a client reading steadily never sends a RELEASE of its own. OK: checksum
   * and tag of the block, body = offset u64 | length u32 | lease u32: the
   * block's bytes are at that offset of the file and stay there until the lease
   * is released or expires. NOT_FOUND: the block is not in the memory tier (a
   * GET still finds it in a lower one).
   */
  LOCATE: 7,
  /** Ends leases LOCATE granted: data is the list (u32 each); OK with an empty body. Unknown leases are ignored. */
  RELEASE: 8,
  /**
   * Same-host writes through the shared memory file: the request names the
   * block, carries its checksum and tag like a PUT, and its data is the block's
   * length (u32). OK: body = offset u64 | length u32 | lease u32, room in the
   * file the client writes the bytes into. Nodes that do not take writes this
   * way (write-through on) answer ERROR; the client then PUTs.
   */
  RESERVE: 9,
  /** Publishes a reserved block once its bytes are written: data is the lease (u32). OK, or ERROR when the lease expired (then PUT). */
  COMMIT: 10,
  /**
   * Blocks a same-host client read straight from the shared file, found
   * through its directory (src/shared-directory.ts) with no LOCATE: data is
   * their ids (16 raw bytes each, at most MAX_TOUCHES_PER_FRAME). The node
   * makes each the most recently used and counts it as a hit. OK with an
   * empty body; ids no longer in memory are ignored.
   */
  TOUCH: 11,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const Status = {
  OK: 0,
  NOT_FOUND: 1,
  ERROR: 2,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

const OPS: ReadonlySet<number> = new Set(Object.values(Op));
const STATUSES: ReadonlySet<number> = new Set(Object.values(Status));

export function isOp(value: number): value is Op {
  return OPS.has(value);
}

export function isStatus(value: number): value is Status {
  return STATUSES.has(value);
}

export function opName(op: Op): string {
  return (Object.keys(Op) as (keyof typeof Op)[]).find((k) => Op[k] === op)!.toLowerCase();
}

/** Largest JSON body (ERROR, STATS): small, so a bad peer cannot make us buffer much. */
export const MAX_JSON_BYTES = 64 * 1024;

/** Most leases one LOCATE or RELEASE carries. */
export const MAX_LEASES_PER_FRAME = 256;

/** Most block ids one TOUCH carries. */
export const MAX_TOUCHES_PER_FRAME = 256;

/** Body of a LOCATE reply. */
export const LOCATION_BYTES = 16;

/** Largest HELLO data (the secret): an unauthenticated peer can make a node buffer no more. */
export const MAX_HELLO_BYTES = 1024;

/** What a receiver accepts; lengths over these are rejected before anything is allocated. */
export interface WireLimits {
  /** Largest block payload (PUT data, GET reply body). */
  readonly maxBlockBytes: number;
  /** Largest tag (namespace + encoded key, see src/block-tag.ts). */
  readonly maxTagBytes: number;
}

/** Namespace bytes a tag may hold: the config schema caps a namespace at 256 UTF-8 bytes. */
const TAG_OVERHEAD_BYTES = 4 + 256;

/** The wire limits matching a configuration's limits slice. */
export function wireLimits(limits: LimitsConfig): WireLimits {
  return {
    maxBlockBytes: limits.maxBlockBytes,
    maxTagBytes: Math.min(MAX_TAG_BYTES, limits.maxKeyBytes + TAG_OVERHEAD_BYTES),
  };
}
