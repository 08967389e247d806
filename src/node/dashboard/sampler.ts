import type { LatencySnapshot, MetricSnapshot } from "./metric-snapshot.js";
import { DATA_OPS } from "./metric-snapshot.js";
import { RingBuffer } from "./ring-buffer.js";

/** What the node did during one sampling interval. */
export interface Sample {
  /** End of the interval, ms since the epoch. */
  readonly t: number;
  /** Data operations (GET, PUT, DELETE) per second. */
  readonly opsPerSec: number;
  readonly getsPerSec: number;
  /** GET hits / (hits + misses) in the interval; null without GETs. */
  readonly hitRatio: number | null;
  /** Mean and 99th-percentile latency of data operations in ms (p99: a histogram bucket bound); null without operations. */
  readonly meanMs: number | null;
  readonly p99Ms: number | null;
}

export interface SamplerOptions {
  readonly read: () => Promise<MetricSnapshot>;
  /** Samples kept (default 300: five minutes at one a second). */
  readonly capacity?: number;
  readonly now?: () => number;
}

interface Point {
  readonly t: number;
  readonly snapshot: MetricSnapshot;
}

/**
 * Turns the node's cumulative counters into a bounded series of rates: each
 * sample is the difference between two snapshots of the registry.
 */
export class Sampler {
  readonly #series: RingBuffer<Sample>;
  readonly #options: SamplerOptions;
  #previous: Point | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SamplerOptions) {
    this.#options = options;
    this.#series = new RingBuffer(options.capacity ?? 300);
  }

  samples(): Sample[] {
    return this.#series.toArray();
  }

  /** Reads the registry; from the second call on, appends one sample. */
  async sampleOnce(): Promise<void> {
    const point = { t: (this.#options.now ?? Date.now)(), snapshot: await this.#options.read() };
    const previous = this.#previous;
    this.#previous = point;
    if (previous !== undefined && point.t > previous.t) this.#series.push(sampleBetween(previous, point));
  }

  /** Samples every `intervalMs` (timer unref'd) until stop(); errors are passed to `onError`. */
  start(intervalMs: number, onError: (err: unknown) => void): void {
    this.stop();
    this.#timer = setInterval(() => void this.sampleOnce().catch(onError), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

function sampleBetween(a: Point, b: Point): Sample {
  const seconds = (b.t - a.t) / 1000;
  const ops = DATA_OPS.reduce((n, op) => n + delta(opTotal(a.snapshot, op), opTotal(b.snapshot, op)), 0);
  const hits = delta(count(a.snapshot, "node_get", "hit"), count(b.snapshot, "node_get", "hit"));
  const misses = delta(count(a.snapshot, "node_get", "miss"), count(b.snapshot, "node_get", "miss"));
  const latency = latencyBetween(a.snapshot.latency, b.snapshot.latency);
  return {
    t: b.t,
    opsPerSec: ops / seconds,
    getsPerSec: delta(opTotal(a.snapshot, "node_get"), opTotal(b.snapshot, "node_get")) / seconds,
    hitRatio: hits + misses === 0 ? null : hits / (hits + misses),
    ...latency,
  };
}

function latencyBetween(a: LatencySnapshot, b: LatencySnapshot): { meanMs: number | null; p99Ms: number | null } {
  const n = delta(a.count, b.count);
  if (n === 0) return { meanMs: null, p99Ms: null };
  const before = new Map(a.buckets);
  const finite = b.buckets.filter(([le]) => Number.isFinite(le));
  const p99 = finite.find(([le, cumulative]) => delta(before.get(le) ?? 0, cumulative) >= 0.99 * n);
  const largest = finite.at(-1)?.[0] ?? 0;
  return { meanMs: (delta(a.sum, b.sum) / n) * 1000, p99Ms: (p99?.[0] ?? largest) * 1000 };
}

function opTotal(s: MetricSnapshot, op: string): number {
  return Object.values(s.requests[op] ?? {}).reduce((n, v) => n + v, 0);
}

function count(s: MetricSnapshot, op: string, result: string): number {
  return s.requests[op]?.[result] ?? 0;
}

/** Counters only grow; a negative difference (never expected) is clamped. */
function delta(before: number, after: number): number {
  return Math.max(0, after - before);
}
