import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { CacheMetrics } from "../src/metrics.js";
import type { KeyKind } from "../src/keys.js";

/** A tryLoad / matchPrefix / insert / delete outcome, as the requests counter labels it. */
export type SdkResult = "hit" | "miss" | "degraded" | "ok" | "exists" | "absent" | "error";

/**
 * The SDK's metrics: requests by op and result and their latency (on the shared
 * {@link CacheMetrics}), plus the matched-prefix length, degraded misses and the
 * hit ratio. Metrics already on the registry (another SDK instance sharing it)
 * are reused, so several instances can report into one registry.
 */
export class SdkMetrics {
  readonly cache: CacheMetrics;
  /** Matched prefix length: bytes for string keys, tokens for token keys. */
  readonly matchedPrefix: Histogram<"kind">;
  readonly degraded: Counter<"op" | "code">;
  /** tryLoad hits whose descriptor named no live holder and an S3 copy: served from S3 through some node. */
  readonly s3Fallbacks: Counter;
  readonly hitRatio: Gauge;
  /** Blocks read ahead of the lookup's answer (read-ahead.ts), by whether the answer named them. */
  readonly readAheads: Counter<"result">;

  constructor(cache: CacheMetrics) {
    this.cache = cache;
    const registry = cache.registry;
    this.matchedPrefix = existing(registry, "kvcache_sdk_matched_prefix_length") ?? new Histogram({
      name: "kvcache_sdk_matched_prefix_length", help: "Length of the matched prefix of tryLoad hits (bytes for string keys, tokens for token keys).",
      labelNames: ["kind"], buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536], registers: [registry],
    });
    this.degraded = existing(registry, "kvcache_sdk_degraded_total") ?? new Counter({
      name: "kvcache_sdk_degraded_total", help: "Lookups answered as a miss because of an infrastructure failure, and failed cleanups, by op and error code.",
      labelNames: ["op", "code"], registers: [registry],
    });
    this.s3Fallbacks = existing(registry, "kvcache_sdk_s3_fallbacks_total") ?? new Counter({
      name: "kvcache_sdk_s3_fallbacks_total", help: "tryLoad hits served by a node not named as a holder, which read the block from its S3 tier.", registers: [registry],
    });
    this.hitRatio = existing(registry, "kvcache_sdk_hit_ratio") ?? hitRatioGauge(cache);
    this.readAheads = existing(registry, "kvcache_sdk_read_aheads_total") ?? new Counter({
      name: "kvcache_sdk_read_aheads_total", help: "Blocks tryLoad copied from a same-host node while etcd answered the lookup: used (the answer named that block) or wasted.",
      labelNames: ["result"], registers: [registry],
    });
  }

  /** Counts one finished operation and its latency. */
  record(op: string, result: SdkResult, startedAt: bigint): void {
    this.cache.requests.inc({ op, result });
    this.cache.opDuration.observe({ op }, Number(process.hrtime.bigint() - startedAt) / 1e9);
  }

  recordPrefix(kind: KeyKind, encodedBytes: number): void {
    this.matchedPrefix.observe({ kind }, kind === "str" ? encodedBytes : encodedBytes / 4);
  }

  /** Counts a block read ahead of the lookup's answer, used or wasted. */
  recordReadAhead(used: boolean): void {
    this.readAheads.inc({ result: used ? "used" : "wasted" });
  }

  /** Counts a hit that no holder served: a non-holder node loaded it from its S3 tier. */
  recordS3Fallback(): void {
    this.s3Fallbacks.inc();
  }
}

function existing<T>(registry: Registry, name: string): T | undefined {
  return registry.getSingleMetric(name) as T | undefined;
}

/** tryLoad hits / all tryLoads (degraded misses count as misses), computed at scrape time. */
function hitRatioGauge(cache: CacheMetrics): Gauge {
  return new Gauge({
    name: "kvcache_sdk_hit_ratio", help: "Fraction of tryLoad calls that returned a block, since start.",
    registers: [cache.registry],
    async collect() {
      const { values } = await cache.requests.get();
      const loads = values.filter((v) => v.labels["op"] === "tryLoad" && v.labels["result"] !== "error");
      const total = loads.reduce((n, v) => n + v.value, 0);
      const hits = loads.filter((v) => v.labels["result"] === "hit").reduce((n, v) => n + v.value, 0);
      this.set(total === 0 ? 0 : hits / total);
    },
  });
}
