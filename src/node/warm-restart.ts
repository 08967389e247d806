import pLimit from "p-limit";
import type { Block, BlockId } from "../block.js";
import { decodeBlockTag } from "../block-tag.js";
import type { LocationTracker } from "../../metadata/location-tracker.js";
import type { BlockTier } from "../../storage/block-tier.js";
import type { Logger } from "./logger.js";

export interface ReadvertiseReport {
  /** Blocks found in the local tiers. */
  readonly found: number;
  /** Blocks whose descriptor still names them: this node is (again) a holder. */
  readonly advertised: number;
}

/**
 * Warm restart: every block still in a local tier (disk; memory is empty at
 * start) is re-advertised from its owner tag, so a node restarted on the same
 * disk and nodeId serves its blocks again. Only descriptors that still name the
 * block are touched (the tracker's compare-and-set): a key overwritten or
 * deleted while the node was down stays as it is.
 */
export async function readvertise(tiers: readonly BlockTier[], tracker: LocationTracker, logger: Logger, concurrency = 8): Promise<ReadvertiseReport> {
  const limit = pLimit(concurrency);
  const jobs: Promise<boolean>[] = [];
  for (const tier of tiers) {
    for await (const id of tier.ids()) jobs.push(limit(() => readvertiseOne(tier, id, tracker, logger)));
  }
  const results = await Promise.all(jobs);
  const report = { found: results.length, advertised: results.filter(Boolean).length };
  logger.info("re-advertised local blocks", { ...report });
  return report;
}

async function readvertiseOne(tier: BlockTier, id: BlockId, tracker: LocationTracker, logger: Logger): Promise<boolean> {
  try {
    const owner = decodeBlockTag((await tier.get(id))?.tag);
    return owner === undefined ? false : await tracker.held(id, owner);
  } catch (err) {
    logger.warn("could not re-advertise a block", { tier: tier.name, blockId: id, err });
    return false;
  }
}

/**
 * Graceful shutdown: the memory tier is not durable, so its blocks are written
 * to disk (whose evictions still spill to S3 through the tiered store) for the
 * next warm restart. A block that cannot be kept is released, so no descriptor
 * keeps naming a copy that is about to vanish (invariant 4).
 */
export async function persistMemory(memory: BlockTier, disk: BlockTier | undefined, tracker: LocationTracker, logger: Logger): Promise<{ persisted: number; released: number }> {
  let persisted = 0;
  let released = 0;
  for await (const id of memory.ids()) {
    const block = await memory.get(id);
    if (block === undefined) continue;
    if (disk !== undefined && (await keepOnDisk(disk, id, block, logger))) {
      persisted++;
      continue;
    }
    const owner = decodeBlockTag(block.tag);
    if (owner !== undefined) await tracker.released(id, owner);
    released++;
  }
  logger.info("persisted the memory tier", { persisted, released });
  return { persisted, released };
}

async function keepOnDisk(disk: BlockTier, id: BlockId, block: Block, logger: Logger): Promise<boolean> {
  try {
    if (!(await disk.has(id))) await disk.put(id, block);
    return true;
  } catch (err) {
    logger.warn("could not persist a block to disk", { blockId: id, err });
    return false;
  }
}
