import type { Gauge } from "prom-client";
import type { Closeable, MetadataStore, NodeEvent, NodeInfo } from "../../../metadata/metadata-store.js";
import type { Logger } from "../logger.js";

export interface LiveNodesOptions {
  readonly metadata: MetadataStore;
  /** Set to the number of live nodes on every change (kvcache_live_nodes). */
  readonly gauge?: Gauge;
  readonly logger: Logger;
  /** How often the whole list is read again, healing any watch event missed (default 15 000 ms). */
  readonly resyncMs?: number;
}

const DEFAULT_RESYNC_MS = 15_000;

/**
 * The cluster's live nodes as this node sees them: a membership watch, started
 * before the first listing so no join or leave in between is lost, plus a
 * periodic full listing. Feeds the live-node gauge and the dashboard.
 */
export class LiveNodes {
  readonly #members = new Map<string, NodeInfo>();
  readonly #options: LiveNodesOptions;
  /** Events that arrive while the first listing is in flight, replayed over it. */
  #pending: NodeEvent[] | undefined = [];
  #watch: Closeable | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: LiveNodesOptions) {
    this.#options = options;
  }

  static async open(options: LiveNodesOptions): Promise<LiveNodes> {
    const view = new LiveNodes(options);
    try {
      view.#watch = await options.metadata.watchNodes((event) => view.#onEvent(event));
      view.#replace(await options.metadata.liveNodes());
    } catch (err) {
      await view.close();
      throw err;
    }
    view.#timer = setInterval(() => void view.#resync(), options.resyncMs ?? DEFAULT_RESYNC_MS);
    view.#timer.unref();
    return view;
  }

  /** Live nodes sorted by id. */
  list(): NodeInfo[] {
    return [...this.#members.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  /** Stops the watch and the resync; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const watch = this.#watch;
    this.#watch = undefined;
    await watch?.close();
  }

  #onEvent(event: NodeEvent): void {
    if (this.#closed) return;
    if (this.#pending !== undefined) this.#pending.push(event);
    else this.#apply(event);
  }

  #apply(event: NodeEvent): void {
    if (event.type === "leave") this.#members.delete(event.nodeId);
    else if (event.node !== undefined) this.#members.set(event.nodeId, event.node);
    this.#report();
  }

  #replace(nodes: readonly NodeInfo[]): void {
    this.#members.clear();
    for (const node of nodes) this.#members.set(node.nodeId, node);
    const buffered = this.#pending ?? [];
    this.#pending = undefined;
    for (const event of buffered) this.#apply(event);
    this.#report();
  }

  async #resync(): Promise<void> {
    try {
      const nodes = await this.#options.metadata.liveNodes();
      if (!this.#closed) this.#replace(nodes);
    } catch (err) {
      // The watch keeps the list current meanwhile; the next resync tries again.
      this.#options.logger.warn("live node listing failed", { err });
    }
  }

  #report(): void {
    this.#options.gauge?.set(this.#members.size);
  }
}
