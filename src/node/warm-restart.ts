import pLimit from "p-limit";
import type { BlockId } from "../block.js";
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
