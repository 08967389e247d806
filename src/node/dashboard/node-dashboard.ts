import type { MetadataStore } from "../../../metadata/metadata-store.js";
import type { TierMove } from "../../../storage/tier-events.js";
import type { NodeMetrics } from "../../metrics.js";
import { json, type AdminServer } from "../admin-server.js";
import type { Logger } from "../logger.js";
import { LiveNodes } from "./live-nodes.js";
import { snapshotMetrics } from "./metric-snapshot.js";
import { DASHBOARD_HTML } from "./page.js";
import { RingBuffer } from "./ring-buffer.js";
import { Sampler } from "./sampler.js";
import { buildSummary, moveEvent, type DashboardSummary, type MoveEvent, type SelfInfo } from "./summary.js";

export interface NodeDashboardOptions {
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** This node as it is now (id, addresses, readiness). */
  readonly self: () => SelfInfo;
  /** Sampling interval of the throughput and latency series (default 1000 ms). */
  readonly sampleIntervalMs?: number;
  /** Samples kept (default 300). */
  readonly samples?: number;
  /** Recent block moves kept (default 64). */
  readonly events?: number;
  readonly now?: () => number;
}

/**
 * The node's live dashboard: GET /dashboard (one self-contained page) and
 * GET /api/summary (the JSON it polls). Everything it keeps is bounded: a
 * series of samples, a ring of recent block moves, the live-node list.
 */
export class NodeDashboard {
  readonly #options: NodeDashboardOptions;
  readonly #events: RingBuffer<MoveEvent>;
  readonly #sampler: Sampler;
  readonly #now: () => number;
  #nodes: LiveNodes | undefined;
  #closed = false;

  constructor(options: NodeDashboardOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#events = new RingBuffer(options.events ?? 64);
    this.#sampler = new Sampler({ read: () => snapshotMetrics(options.metrics), capacity: options.samples, now: this.#now });
  }

  /** Records a block move (eviction, spill, promotion, drop) for the recent-events list. */
  recordMove(move: TierMove): void {
    this.#events.push(moveEvent(move, this.#now()));
  }

  /** Adds /dashboard and /api/summary to the admin server. */
  mount(admin: AdminServer): void {
    admin
      .route("/dashboard", () => ({ status: 200, contentType: "text/html; charset=utf-8", body: DASHBOARD_HTML }))
      .route("/api/summary", async () => json(200, await this.summary()));
  }

  /** Starts sampling and following membership (kvcache_live_nodes). */
  async start(metadata: MetadataStore): Promise<void> {
    const { metrics, logger } = this.#options;
    const nodes = await LiveNodes.open({ metadata, gauge: metrics.liveNodes, logger });
    if (this.#closed) return void (await nodes.close());
    this.#nodes = nodes;
    await this.#sampler.sampleOnce();
    this.#sampler.start(this.#options.sampleIntervalMs ?? 1000, (err) => logger.warn("dashboard sample failed", { err }));
  }

  async summary(): Promise<DashboardSummary> {
    const snapshot = await snapshotMetrics(this.#options.metrics);
    return buildSummary({
      self: this.#options.self(),
      now: this.#now(),
      nodes: this.#nodes?.list() ?? [],
      snapshot,
      series: this.#sampler.samples(),
      events: this.#events.toArray(),
    });
  }

  /** Stops sampling and the membership watch; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#sampler.stop();
    await this.#nodes?.close();
  }
}
