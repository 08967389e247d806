import type { Block, BlockId } from "../src/block.js";
import { decodeBlockTag, type BlockOwner } from "../src/block-tag.js";
import type { BlockDescriptor, DescriptorUpdate, MetadataStore } from "./metadata-store.js";

/**
 * A block's move inside one node, as the tiered store reports it (the same
 * shape as its onMove events; declared here because metadata/ never imports
 * storage/). `block` carries the bytes and owner tag when the store had them.
 */
export interface BlockMove {
  readonly id: BlockId;
  readonly from: string;
  readonly to: string;
  readonly reason: "demoted" | "spilled" | "dropped" | "promoted" | "corrupt";
  readonly block?: Block;
}

export type TrackerAction = "held" | "released" | "storedInS3" | "spilled";

/**
 * Waits before asking again when a release or spill finds no descriptor yet: a
 * block can leave a node during its own PUT (a block larger than memory goes
 * straight to S3) or just after, before the client has published the
 * descriptor naming this node. About 1.7 s in all; the sweep repairs anything later.
 */
const ABSENT_RETRY_MS = [20, 80, 320, 1280] as const;

type Outcome = "matched" | "absent" | "other" | "failed";

export interface LocationTrackerOptions {
  readonly store: MetadataStore;
  /** This node's id, as descriptors name holders. */
  readonly nodeId: string;
  /** Told about every failed metadata update; the tracker itself never throws from onMove. */
  readonly onError?: (err: unknown, context: { readonly id: BlockId; readonly action: TrackerAction }) => void;
  /**
   * Whether this node still holds `id` outside S3 (memory, disk, in transit). Asked
   * after a corrupt copy was dropped: another local copy keeps the node a holder.
   * Without it a corrupt drop changes nothing.
   */
  readonly holdsLocally?: (id: BlockId) => Promise<boolean>;
}

/**
 * Keeps descriptors true while this node's blocks move. Every change is a
 * compare-and-set on the block's own key (from its owner tag) that only touches
 * a descriptor still naming this block id: a key overwritten since keeps its
 * new block's descriptor untouched. Updates of one block id run in the order
 * they were asked for (a spill's release never overtakes a later promotion).
 * Every method resolves once its update is applied or has failed; failures go
 * to onError and never reject, because metadata upkeep must not fail a data
 * operation (the sweep repairs what an update missed).
 */
export class LocationTracker {
  private readonly store: MetadataStore;
  private readonly nodeId: string;
  private readonly options: LocationTrackerOptions;
  /** Tail of each block id's update chain; removed when the chain drains. */
  private readonly chains = new Map<BlockId, Promise<boolean>>();

  constructor(options: LocationTrackerOptions) {
    this.store = options.store;
    this.nodeId = options.nodeId;
    this.options = options;
  }

  /**
   * Adds this node as a holder (the block is now in a local tier). Like every
   * method below, resolves true when the key's descriptor names this block
   * (changed or already as wanted), false when it is absent, names another
   * block, or the update failed.
   */
  held(id: BlockId, owner: BlockOwner): Promise<boolean> {
    return this.change(id, owner, "held", (d) => (d.holders.includes(this.nodeId) ? undefined : { ...d, holders: [...d.holders, this.nodeId].sort() }));
  }

  /** Removes this node as a holder; an entry left with no copy anywhere is deleted. */
  released(id: BlockId, owner: BlockOwner): Promise<boolean> {
    return this.change(id, owner, "released", (d) => this.withoutMe(d), true);
  }

  /** Records that a complete copy is durable in S3. */
  storedInS3(id: BlockId, owner: BlockOwner): Promise<boolean> {
    return this.change(id, owner, "storedInS3", (d) => (d.s3 ? undefined : { ...d, s3: true }));
  }

  /**
   * The block left this node for S3: one compare-and-set that names the S3 copy
   * and drops this holder together, so the entry is never without a named copy
   * in between (invariant 4). Call it only once the S3 copy is durable.
   */
  spilled(id: BlockId, owner: BlockOwner): Promise<boolean> {
    return this.change(id, owner, "spilled", (d) => (d.s3 && !d.holders.includes(this.nodeId) ? undefined : { ...d, s3: true, holders: d.holders.filter((h) => h !== this.nodeId) }), true);
  }

  /**
   * Applies a tiered-store move: spilled → {@link spilled}; dropped → released;
   * promoted out of S3 → held; corrupt → released only if no local copy is
   * left; demoted → nothing (still held). Moves of untagged blocks are ignored.
   * Never rejects: failures go to onError.
   */
  async onMove(move: BlockMove): Promise<void> {
    const owner = decodeBlockTag(move.block?.tag);
    if (owner === undefined) return;
    switch (move.reason) {
      case "spilled":
        await this.spilled(move.id, owner);
        return;
      case "dropped":
        await this.released(move.id, owner);
        return;
      case "promoted":
        if (move.from === "s3") await this.held(move.id, owner);
        return;
      case "corrupt":
        await this.enqueue(move.id, () => this.releaseIfGone(move.id, owner));
        return;
      case "demoted":
        return;
    }
  }

  /** Resolves once every update asked for so far has finished (shutdown, tests). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  private async releaseIfGone(id: BlockId, owner: BlockOwner): Promise<boolean> {
    if (this.options.holdsLocally === undefined) return false;
    try {
      if (await this.options.holdsLocally(id)) return false;
    } catch (err) {
      this.options.onError?.(err, { id, action: "released" });
      return false;
    }
    return (await this.apply(id, owner, "released", (d) => this.withoutMe(d))) === "matched";
  }

  private withoutMe(d: BlockDescriptor): DescriptorUpdate {
    if (!d.holders.includes(this.nodeId)) return undefined;
    const holders = d.holders.filter((h) => h !== this.nodeId);
    return holders.length === 0 && !d.s3 ? null : { ...d, holders };
  }

  /**
   * Queues a CAS update of `owner`'s descriptor behind earlier ones for `id`.
   * `whenPublished`: a descriptor not there yet is waited for ({@link ABSENT_RETRY_MS}).
   */
  private change(id: BlockId, owner: BlockOwner, action: TrackerAction, fn: (d: BlockDescriptor) => DescriptorUpdate, whenPublished = false): Promise<boolean> {
    return this.enqueue(id, async () => {
      let outcome = await this.apply(id, owner, action, fn);
      for (const ms of whenPublished ? ABSENT_RETRY_MS : []) {
        if (outcome !== "absent") break;
        await new Promise((resolve) => setTimeout(resolve, ms));
        outcome = await this.apply(id, owner, action, fn);
      }
      return outcome === "matched";
    });
  }

  /** Runs `task` after every task queued before for `id`; tasks never reject. */
  private enqueue(id: BlockId, task: () => Promise<boolean>): Promise<boolean> {
    const next = (this.chains.get(id) ?? Promise.resolve(true)).then(task);
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  private async apply(id: BlockId, owner: BlockOwner, action: TrackerAction, fn: (d: BlockDescriptor) => DescriptorUpdate): Promise<Outcome> {
    let outcome: Outcome = "absent";
    try {
      await this.store.update(owner.namespace, owner.key, (current) => {
        outcome = current === undefined ? "absent" : current.blockId === id ? "matched" : "other";
        return outcome === "matched" ? fn(current!) : undefined;
      });
      return outcome;
    } catch (err) {
      this.options.onError?.(err, { id, action });
      return "failed";
    }
  }
}
