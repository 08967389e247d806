import type { Block } from "../block.js";
import { decodeBlockTag } from "../block-tag.js";
import { assertChecksum } from "../checksum.js";
import { ErrorCode, KvCacheError } from "../errors.js";
import type { CacheMetrics } from "../metrics.js";
import { namespaceProblem } from "../namespace.js";
import type { PeerStats } from "../peer.js";
import type { RequestFrame } from "../wire/frames.js";
import { encodeJson } from "../wire/messages.js";
import { Op, opName, Status } from "../wire/protocol.js";
import type { BlockTier, TierStats } from "../../storage/block-tier.js";
import type { SharedMemoryTier } from "../../storage/shared-memory-tier.js";
import type { TieredStore } from "../../storage/tiered-store.js";
import { decodeBlockIds, decodeLeases, encodeLocation } from "../wire/locations.js";
import type { Reply, RequestHandler } from "./server-connection.js";

export interface NodeRequestHandlerOptions {
  readonly nodeId: string;
  /** The tiered store: GET looks in every tier (S3 included) and promotes; PUT lands in memory. */
  readonly store: BlockTier;
  readonly tierStats: () => Readonly<Record<string, TierStats | undefined>>;
  /**
   * The memory tier when it lives in a shared file: LOCATE, RELEASE and TOUCH are
   * served from it, and a GET it can answer is read into a pooled buffer that
   * goes back once the reply is written.
   */
  readonly shared?: Pick<SharedMemoryTier, "locate" | "release" | "lend" | "touch">;
  /**
   * Takes back a PUT body once the store holds the block (the PUT body arrived
   * in a pooled buffer, see ConnectionPolicy.bodyBuffer). Only for a store that
   * keeps no reference to the bytes it was given: a shared memory tier, no write-through.
   */
  readonly recycle?: (data: Buffer) => void;
  /** Same-host writes (RESERVE, COMMIT): the tiered store over a shared memory tier, when no write-through needs the bytes. */
  readonly reservations?: Pick<TieredStore, "reserve" | "commit">;
  /** Largest block a RESERVE may announce (limits.maxBlockBytes). */
  readonly maxBlockBytes?: number;
  /** Called after every acknowledged PUT (write-through). */
  readonly afterPut?: (frame: RequestFrame, block: Block) => void;
  readonly metrics: CacheMetrics;
}

type Result = "hit" | "miss" | "ok" | "error";

/**
 * The node's data operations. Metadata is not written here: the SDK names a
 * holder only after PUT resolved (invariant 1) and owns explicit deletes; moves
 * between tiers (promotion from S3 included) reach metadata through the
 * tiered store's onMove and the LocationTracker.
 */
export function nodeRequestHandler(options: NodeRequestHandlerOptions): RequestHandler {
  const ops: Record<number, (frame: RequestFrame) => Promise<[Reply, Result]>> = {
    [Op.GET]: (f) => get(options, f),
    [Op.PUT]: (f) => put(options, f),
    [Op.DELETE]: (f) => remove(options, f),
    [Op.STATS]: async () => [{ status: Status.OK, body: encodeJson(statsOf(options)) }, "ok"],
    [Op.PING]: async () => [{ status: Status.OK }, "ok"],
  };
  const reservations = options.reservations;
  if (reservations !== undefined) {
    ops[Op.RESERVE] = (f) => reserve(reservations, options.maxBlockBytes ?? Infinity, f);
    ops[Op.COMMIT] = async (f) => {
      reservations.commit(f.blockId, decodeU32(f.data, "COMMIT lease"));
      return [{ status: Status.OK }, "ok"];
    };
  }
  const shared = options.shared;
  if (shared !== undefined) {
    ops[Op.LOCATE] = async (f) => locate(shared, f);
    ops[Op.RELEASE] = async (f) => {
      for (const lease of decodeLeases(f.data)) shared.release(lease);
      return [{ status: Status.OK }, "ok"];
    };
    ops[Op.TOUCH] = async (f) => {
      shared.touch(decodeBlockIds(f.data));
      return [{ status: Status.OK }, "ok"];
    };
  }
  return async (frame) => {
    const op = `node_${opName(frame.op)}`;
    const stop = options.metrics.opDuration.startTimer({ op });
    const handle = ops[frame.op];
    try {
      if (handle === undefined) throw new KvCacheError(ErrorCode.PROTOCOL, `protocol error: op ${opName(frame.op)} is not supported by this node`);
      const [reply, result] = await handle(frame);
      options.metrics.requests.inc({ op, result });
      return reply;
    } catch (err) {
      options.metrics.requests.inc({ op, result: "error" });
      throw err;
    } finally {
      stop();
    }
  };
}

async function get(options: NodeRequestHandlerOptions, frame: RequestFrame): Promise<[Reply, Result]> {
  const lent = await options.shared?.lend(frame.blockId);
  if (lent !== undefined) {
    const { block, release } = lent;
    return [{ status: Status.OK, checksum: block.checksum, tag: block.tag, body: block.data, release }, "hit"];
  }
  // Not in (shared) memory: the store looks in the lower tiers and promotes.
  const block = await options.store.get(frame.blockId);
  if (block === undefined) return [{ status: Status.NOT_FOUND }, "miss"];
  return [{ status: Status.OK, checksum: block.checksum, tag: block.tag, body: block.data }, "hit"];
}

/** Releases the leases the client is done with, then leases the block's place in the shared file. */
function locate(shared: NonNullable<NodeRequestHandlerOptions["shared"]>, frame: RequestFrame): [Reply, Result] {
  for (const lease of decodeLeases(frame.data)) shared.release(lease);
  const where = shared.locate(frame.blockId);
  if (where === undefined) return [{ status: Status.NOT_FOUND }, "miss"];
  return [{ status: Status.OK, checksum: where.checksum, tag: where.tag, body: encodeLocation(where) }, "hit"];
}

/** Room in the shared file for a block the client writes itself; its tag is checked as a PUT's is. */
async function reserve(reservations: Pick<TieredStore, "reserve">, maxBlockBytes: number, frame: RequestFrame): Promise<[Reply, Result]> {
  assertOwnerTag(frame.tag);
  const length = decodeU32(frame.data, "RESERVE length");
  if (length > maxBlockBytes) {
    throw new KvCacheError(ErrorCode.BLOCK_TOO_LARGE, `block is ${length} bytes; the limit (limits.maxBlockBytes) is ${maxBlockBytes}`, { details: { size: length, limit: maxBlockBytes } });
  }
  const where = await reservations.reserve(frame.blockId, length, frame.checksum, frame.tag);
  return [{ status: Status.OK, body: encodeLocation(where) }, "ok"];
}

function decodeU32(data: Buffer, what: string): number {
  if (data.length !== 4) throw new KvCacheError(ErrorCode.PROTOCOL, `protocol error: ${what} must be 4 bytes; got ${data.length}`);
  return data.readUInt32BE(0);
}

async function put(options: NodeRequestHandlerOptions, frame: RequestFrame): Promise<[Reply, Result]> {
  // Bytes damaged on the way, or an owner tag naming an impossible namespace, are refused here, before any tier or metadata sees them.
  assertChecksum(frame.data, frame.checksum, `PUT from client (block ${frame.blockId})`);
  assertOwnerTag(frame.tag);
  const block: Block = frame.tag === undefined ? { data: frame.data, checksum: frame.checksum } : { data: frame.data, checksum: frame.checksum, tag: frame.tag };
  await options.store.put(frame.blockId, block);
  options.afterPut?.(frame, block);
  options.recycle?.(frame.data);
  return [{ status: Status.OK }, "ok"];
}

/**
 * A tag in the owner format (src/block-tag.ts) drives metadata updates under
 * its namespace, so that namespace must pass the same rule as configured ones.
 * Tags in no known format are opaque bytes the node only stores.
 */
function assertOwnerTag(tag: Buffer | undefined): void {
  const owner = decodeBlockTag(tag);
  if (owner === undefined) return;
  const problem = namespaceProblem(owner.namespace);
  if (problem !== undefined) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `PUT refused: the block tag's namespace ${problem}`, { details: { namespace: owner.namespace.slice(0, 300) } });
  }
}

async function remove(options: NodeRequestHandlerOptions, frame: RequestFrame): Promise<[Reply, Result]> {
  await options.store.delete(frame.blockId);
  return [{ status: Status.OK }, "ok"];
}

function statsOf(options: NodeRequestHandlerOptions): PeerStats {
  const tiers: Record<string, { items: number; bytes: number; capacityBytes: number | null }> = {};
  for (const [name, s] of Object.entries(options.tierStats())) {
    if (s !== undefined) tiers[name] = { items: s.items, bytes: s.bytes, capacityBytes: Number.isFinite(s.capacityBytes) ? s.capacityBytes : null };
  }
  return { nodeId: options.nodeId, tiers };
}
