import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

const PROCESS_PREFIX = "kvcache_";

/**
 * The Prometheus metrics every component reports into, created on an injected
 * registry (never the global one). Components take a `CacheMetrics` in their
 * options; without one they make their own on a private registry.
 * Names carry their unit: _bytes, _seconds, _total.
 */
export class CacheMetrics {
  readonly registry: Registry;
  /** Requests by operation and result (hit, miss, ok, error…). */
  readonly requests: Counter<"op" | "result">;
  readonly opDuration: Histogram<"op">;
  /** Tier reads that found the block, by tier; and their payload bytes. */
  readonly tierHits: Counter<"tier">;
  readonly tierHitBytes: Counter<"tier">;
  readonly tierMisses: Counter<"tier">;
  /** Current payload bytes, items and capacity of each tier. */
  readonly tierBytes: Gauge<"tier">;
  readonly tierItems: Gauge<"tier">;
  readonly tierCapacity: Gauge<"tier">;
  /** Blocks moved between tiers or dropped: from, to ("none" when dropped), reason. */
  readonly blockMoves: Counter<"from" | "to" | "reason">;
  /** Copies that failed their checksum on read and were dropped, by tier. */
  readonly checksumFailures: Counter<"tier">;
  /** Failures of a backend (etcd, s3, disk, node) by error code. */
  readonly backendErrors: Counter<"backend" | "code">;
  /** Requests sent to etcd by kind (range, txn, put, delete, lease). */
  readonly etcdRequests: Counter<"op">;

  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const r = [registry];
    this.requests = new Counter({ name: "kvcache_requests_total", help: "Requests by operation and result.", labelNames: ["op", "result"], registers: r });
    this.opDuration = new Histogram({
      name: "kvcache_op_duration_seconds",
      help: "Operation latency in seconds.",
      labelNames: ["op"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.tierHits = new Counter({ name: "kvcache_tier_hits_total", help: "Tier reads that found the block.", labelNames: ["tier"], registers: r });
    this.tierHitBytes = new Counter({ name: "kvcache_tier_hit_bytes_total", help: "Payload bytes of tier hits.", labelNames: ["tier"], registers: r });
    this.tierMisses = new Counter({ name: "kvcache_tier_misses_total", help: "Tier reads that did not find the block.", labelNames: ["tier"], registers: r });
    this.tierBytes = new Gauge({ name: "kvcache_tier_bytes", help: "Payload bytes held by a tier.", labelNames: ["tier"], registers: r });
    this.tierItems = new Gauge({ name: "kvcache_tier_items", help: "Blocks held by a tier.", labelNames: ["tier"], registers: r });
    this.tierCapacity = new Gauge({ name: "kvcache_tier_capacity_bytes", help: "Configured capacity of a tier in bytes.", labelNames: ["tier"], registers: r });
    this.blockMoves = new Counter({ name: "kvcache_block_moves_total", help: "Blocks demoted, spilled, promoted or dropped.", labelNames: ["from", "to", "reason"], registers: r });
    this.checksumFailures = new Counter({ name: "kvcache_checksum_failures_total", help: "Stored copies that failed their checksum and were dropped.", labelNames: ["tier"], registers: r });
    this.backendErrors = new Counter({ name: "kvcache_backend_errors_total", help: "Backend failures by backend and error code.", labelNames: ["backend", "code"], registers: r });
    this.etcdRequests = new Counter({ name: "kvcache_etcd_requests_total", help: "Requests sent to etcd by kind.", labelNames: ["op"], registers: r });
  }

  /** Publishes a tier's size and capacity. */
  reportTier(tier: string, stats: { items: number; bytes: number; capacityBytes: number }): void {
    this.tierBytes.set({ tier }, stats.bytes);
    this.tierItems.set({ tier }, stats.items);
    if (Number.isFinite(stats.capacityBytes)) this.tierCapacity.set({ tier }, stats.capacityBytes);
  }
}

/**
 * A cache node's metrics: {@link CacheMetrics}, the live-node count it keeps from
 * membership, and prom-client's default process metrics (CPU, memory, event-loop
 * lag, GC, handles) prefixed `kvcache_`, e.g. `kvcache_process_cpu_seconds_total`.
 * Only for a server process's own registry: a library sharing its host's
 * registry must not add process metrics.
 */
export class NodeMetrics extends CacheMetrics {
  /** Nodes with a live membership lease, as this node last saw membership. */
  readonly liveNodes: Gauge;

  constructor(registry: Registry = new Registry()) {
    super(registry);
    this.liveNodes = new Gauge({ name: "kvcache_live_nodes", help: "Cache nodes with a live membership lease, as this node sees membership.", registers: [registry] });
    collectDefaultMetrics({ register: registry, prefix: PROCESS_PREFIX });
  }
}
