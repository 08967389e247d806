import type { BlockId } from "../block.js";
import type { BlockDescriptor, DescriptorUpdate, MetadataEntry, MetadataStore } from "../../metadata/metadata-store.js";
import type { BlockTier } from "../../storage/block-tier.js";
import pLimit from "p-limit";
import type { Logger } from "./logger.js";

/** Descriptor repairs in flight at once, and how many are queued before the scan waits for them. */
const REPAIR_CONCURRENCY = 16;
const REPAIR_BATCH = 256;

export interface SweeperOptions {
  readonly store: MetadataStore;
  /**
   * The node's S3 tier, when it has one: orphans are deleted from it. It holds
   * the blocks this node spilled, whatever namespace their keys are in.
   */
  readonly s3?: BlockTier;
  /** The namespace of the node's S3 layout (log lines). */
  readonly namespace: string;
  /** How long a holder must be absent from membership, and an object unreferenced, before it is dropped. */
  readonly graceMs: number;
  readonly logger: Logger;
  /**
   * This node, and whether it still holds a block outside S3 (memory, disk, in
   * transit). A descriptor naming this node for a block it no longer holds (a
   * crash lost its memory tier, or a move's update never landed) loses the claim.
   */
  readonly self?: { readonly nodeId: string; holds(id: BlockId): Promise<boolean> };
  /** Milliseconds since the epoch (default Date.now); tests pass a fake clock. */
  readonly now?: () => number;
}

/** What one sweep changed. */
export interface SweepReport {
  readonly entries: number;
  readonly holdersRemoved: number;
  readonly entriesDeleted: number;
  readonly s3Marked: number;
  readonly objectsDeleted: number;
}

interface Counts {
  entries: number;
  holdersRemoved: number;
  entriesDeleted: number;
  s3Marked: number;
  objectsDeleted: number;
}

/**
 * Repairs what no single node can keep true on its own (invariant 3):
 * - holders absent from membership for `graceMs` (first seen absent by this
 *   sweeper) are removed, and so is this node where it no longer holds the block;
 *   an entry left with no holder and no S3 copy is deleted;
 * - a descriptor not yet marked s3 whose block is in S3 is marked (a write-through
 *   upload that finished before the SDK wrote the descriptor);
 * - S3 objects of the node's layout that no descriptor (of any namespace) references are deleted once
 *   they have been seen unreferenced for `graceMs`: an upload whose descriptor is
 *   still being written (spill or write-through racing the SDK's insert) is
 *   younger than that, so it survives.
 * Every change is a compare-and-set, so sweeps on many nodes can run at once.
 */
export class Sweeper {
  /** Holder id → when this sweeper first saw it absent from membership. */
  private readonly absentSince = new Map<string, number>();
  /** S3 block id → when this sweeper first saw it referenced by no descriptor. */
  private readonly orphanSince = new Map<BlockId, number>();
  private readonly now: () => number;

  constructor(private readonly options: SweeperOptions) {
    this.now = options.now ?? Date.now;
  }

  async sweepOnce(signal?: AbortSignal): Promise<SweepReport> {
    const counts: Counts = { entries: 0, holdersRemoved: 0, entriesDeleted: 0, s3Marked: 0, objectsDeleted: 0 };
    const inS3 = await this.listS3(signal);
    const gone = await this.goneHolders(signal);
    const referenced = new Set<BlockId>();
    // Repairs are independent compare-and-sets: run a few at once, so a node's death
    // is repaired in about one round trip per REPAIR_CONCURRENCY entries, not per entry.
    const limit = pLimit(REPAIR_CONCURRENCY);
    let repairs: Promise<void>[] = [];
    for await (const { namespace, entry } of this.options.store.entries({ signal })) {
      counts.entries++;
      // Block ids are unique across namespaces, and a node spills blocks of every namespace it serves.
      referenced.add(entry.descriptor.blockId);
      repairs.push(limit(() => this.repairEntry(namespace, entry, gone, inS3, counts, signal)));
      if (repairs.length >= REPAIR_BATCH) [repairs] = [[], await Promise.all(repairs)];
    }
    await Promise.all(repairs);
    if (inS3 !== undefined) counts.objectsDeleted = await this.deleteOrphans(inS3, referenced, signal);
    return counts;
  }

  /** Holders that have been absent from membership for at least the grace period. */
  private async goneHolders(signal: AbortSignal | undefined): Promise<(holder: string) => boolean> {
    const live = new Set((await this.options.store.liveNodes({ signal })).map((n) => n.nodeId));
    for (const id of this.absentSince.keys()) if (live.has(id)) this.absentSince.delete(id);
    const now = this.now();
    return (holder) => {
      if (live.has(holder)) return false;
      const since = this.absentSince.get(holder);
      if (since === undefined) this.absentSince.set(holder, now);
      return now - (since ?? now) >= this.options.graceMs;
    };
  }

  private async repairEntry(namespace: string, entry: MetadataEntry, absent: (h: string) => boolean, inS3: Set<BlockId> | undefined, counts: Counts, signal?: AbortSignal): Promise<void> {
    const { descriptor } = entry;
    const self = this.options.self;
    const lostHere = self !== undefined && descriptor.holders.includes(self.nodeId) && !(await self.holds(descriptor.blockId));
    const gone = lostHere ? (h: string) => h === self.nodeId || absent(h) : absent;
    // A claim given up names the S3 copy if there is one now: the listing may predate its upload.
    const markS3 = inS3?.has(descriptor.blockId) === true || (lostHere && !descriptor.s3 && (await this.options.s3?.has(descriptor.blockId, { signal })) === true);
    const needed = descriptor.holders.some(gone) || (markS3 && !descriptor.s3) || (descriptor.holders.length === 0 && !descriptor.s3);
    if (!needed) return;
    let change: "removed" | "deleted" | "marked" | undefined;
    const result = await this.options.store.update(namespace, entry.key, (current) => {
      const next = current?.blockId === descriptor.blockId ? repaired(current, gone, markS3) : undefined;
      change = next === null ? "deleted" : next === undefined ? undefined : next.s3 !== current!.s3 ? "marked" : "removed";
      return next;
    }, { signal });
    if (change === undefined) return;
    this.count(change, descriptor, result?.descriptor, counts);
    this.options.logger.info("sweep repaired a descriptor", { namespace, blockId: descriptor.blockId, change, holders: result?.descriptor.holders ?? [] });
  }

  private count(change: "removed" | "deleted" | "marked", before: BlockDescriptor, after: BlockDescriptor | undefined, counts: Counts): void {
    if (change === "deleted") counts.entriesDeleted++;
    if (change === "marked") counts.s3Marked++;
    counts.holdersRemoved += before.holders.length - (after?.holders.length ?? 0);
  }

  private async listS3(signal: AbortSignal | undefined): Promise<Set<BlockId> | undefined> {
    if (this.options.s3 === undefined) return undefined;
    const ids = new Set<BlockId>();
    for await (const id of this.options.s3.ids({ signal })) ids.add(id);
    return ids;
  }

  private async deleteOrphans(inS3: Set<BlockId>, referenced: Set<BlockId>, signal: AbortSignal | undefined): Promise<number> {
    const now = this.now();
    for (const id of this.orphanSince.keys()) if (!inS3.has(id) || referenced.has(id)) this.orphanSince.delete(id);
    const doomed: BlockId[] = [];
    for (const id of inS3) {
      if (referenced.has(id)) continue;
      const since = this.orphanSince.get(id) ?? now;
      this.orphanSince.set(id, since);
      if (now - since >= this.options.graceMs) doomed.push(id);
    }
    if (doomed.length === 0) return 0;
    await this.options.s3!.deleteMany(doomed, { signal });
    for (const id of doomed) this.orphanSince.delete(id);
    this.options.logger.info("sweep deleted unreferenced S3 objects", { namespace: this.options.namespace, count: doomed.length });
    return doomed.length;
  }
}

/** The descriptor without gone holders and with the S3 copy marked; null when no copy is left. */
function repaired(d: BlockDescriptor, gone: (h: string) => boolean, markS3: boolean): DescriptorUpdate {
  const holders = d.holders.filter((h) => !gone(h));
  const s3 = d.s3 || markS3;
  if (holders.length === 0 && !s3) return null;
  if (holders.length === d.holders.length && s3 === d.s3) return undefined;
  return { ...d, holders, s3 };
}
