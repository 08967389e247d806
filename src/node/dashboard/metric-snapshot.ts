import type { MetricValue } from "prom-client";
import type { CacheMetrics } from "../../metrics.js";

/** One tier as its metrics report it. `capacityBytes` is null for an unbounded tier (S3). */
export interface TierSnapshot {
  readonly tier: string;
  readonly bytes: number;
  readonly items: number;
  readonly capacityBytes: number | null;
  readonly hits: number;
  readonly misses: number;
  readonly hitBytes: number;
}

/** Cumulative latency of the node's data operations, as the histogram holds it. */
export interface LatencySnapshot {
  /** [upper bound in seconds, cumulative count], ascending; the last bound is +Inf. */
  readonly buckets: readonly (readonly [number, number])[];
  readonly sum: number;
  readonly count: number;
}

/** The node's counters and gauges at one instant, read from its registry. */
export interface MetricSnapshot {
  /** op → result → requests. */
  readonly requests: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly tiers: readonly TierSnapshot[];
  /** Block moves by reason (demoted, spilled, promoted, dropped, corrupt). */
  readonly moves: Readonly<Record<string, number>>;
  readonly checksumFailures: number;
  /** Backend failures by backend (etcd, s3, disk, node). */
  readonly backendErrors: Readonly<Record<string, number>>;
  readonly latency: LatencySnapshot;
}

/** The node's data operations, as the request handler labels them. */
export const DATA_OPS: readonly string[] = ["node_get", "node_put", "node_delete"];
const TIER_ORDER = ["memory", "disk", "s3"];

export async function snapshotMetrics(metrics: CacheMetrics): Promise<MetricSnapshot> {
  const [requests, moves, checksums, backend, latency] = await Promise.all([
    metrics.requests.get(), metrics.blockMoves.get(), metrics.checksumFailures.get(), metrics.backendErrors.get(), metrics.opDuration.get(),
  ]);
  return {
    requests: nested(requests.values, "op", "result"),
    tiers: await tierSnapshots(metrics),
    moves: sumBy(moves.values, "reason"),
    checksumFailures: total(checksums.values),
    backendErrors: sumBy(backend.values, "backend"),
    latency: latencyOf(latency.values),
  };
}

async function tierSnapshots(metrics: CacheMetrics): Promise<TierSnapshot[]> {
  const [bytes, items, capacity, hits, misses, hitBytes] = await Promise.all(
    [metrics.tierBytes, metrics.tierItems, metrics.tierCapacity, metrics.tierHits, metrics.tierMisses, metrics.tierHitBytes].map(async (m) => sumBy((await m.get()).values, "tier")),
  );
  const names = Object.keys(bytes!).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  return names.map((tier) => ({
    tier,
    bytes: bytes![tier] ?? 0,
    items: items![tier] ?? 0,
    capacityBytes: capacity![tier] ?? null,
    hits: hits![tier] ?? 0,
    misses: misses![tier] ?? 0,
    hitBytes: hitBytes![tier] ?? 0,
  }));
}

function rank(tier: string): number {
  const at = TIER_ORDER.indexOf(tier);
  return at < 0 ? TIER_ORDER.length : at;
}

function latencyOf(values: readonly (MetricValue<string> & { metricName?: string })[]): LatencySnapshot {
  const ours = values.filter((v) => DATA_OPS.includes(String(v.labels["op"])));
  const byBound = new Map<number, number>();
  let [sum, count] = [0, 0];
  for (const v of ours) {
    if (v.metricName?.endsWith("_bucket") === true) {
      const le = v.labels["le"] === "+Inf" ? Infinity : Number(v.labels["le"]);
      byBound.set(le, (byBound.get(le) ?? 0) + v.value);
    } else if (v.metricName?.endsWith("_sum") === true) sum += v.value;
    else if (v.metricName?.endsWith("_count") === true) count += v.value;
  }
  return { buckets: [...byBound.entries()].sort((a, b) => a[0] - b[0]), sum, count };
}

function sumBy(values: readonly MetricValue<string>[], label: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const key = String(v.labels[label] ?? "");
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

function nested(values: readonly MetricValue<string>[], outer: string, inner: string): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const v of values) {
    const group = (out[String(v.labels[outer])] ??= {});
    const key = String(v.labels[inner]);
    group[key] = (group[key] ?? 0) + v.value;
  }
  return out;
}

function total(values: readonly MetricValue<string>[]): number {
  return values.reduce((n, v) => n + v.value, 0);
}
