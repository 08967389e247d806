import { DatenLordSDK, KvCacheError, type KvCacheClient } from "../../sdk/index.js";
import type { ConfigOverrides } from "../../src/config.js";
import { counterValue } from "../helpers/metric-value.js";
import { waitFor } from "../helpers/wait-for.js";
import { blockBytes } from "./cluster-fixtures.js";

/**
 * What fault-injection tests share: SDK clients that record what a caller
 * saw, and the tally every test states its figures from (blocks verified,
 * wrong bytes, failures by code).
 */

/** One key's block in a test: its bytes are re-made from (seed, size) to compare. */
export interface TestBlock {
  readonly key: string;
  readonly seed: number;
  readonly size: number;
}

/** Keys `<prefix>/000000`…: all the same length, so none is a prefix of another and any other match is wrong. */
export function testBlocks(prefix: string, count: number, size: (i: number) => number, seedBase = 1): TestBlock[] {
  return Array.from({ length: count }, (_, i) => ({ key: `${prefix}/${String(i).padStart(6, "0")}`, seed: seedBase * 100_003 + i, size: size(i) }));
}

export function bytesOf(b: TestBlock): Buffer {
  return blockBytes(b.seed, b.size);
}

/** What callers saw: blocks verified, blocks wrong (must stay 0), misses, and failures by error code. */
export class Tally {
  verified = 0;
  wrong = 0;
  misses = 0;
  readonly failures = new Map<string, number>();

  fail(err: unknown): void {
    const code = err instanceof KvCacheError ? err.code : `untyped:${String(err)}`;
    this.failures.set(code, (this.failures.get(code) ?? 0) + 1);
  }

  get failed(): number {
    return [...this.failures.values()].reduce((a, b) => a + b, 0);
  }

  /** Failures that were not KvCacheErrors (must stay 0: every failure is typed). */
  get untyped(): number {
    return [...this.failures.entries()].filter(([k]) => k.startsWith("untyped:")).reduce((a, [, n]) => a + n, 0);
  }

  summary(): string {
    return `verified ${this.verified}, wrong ${this.wrong}, misses ${this.misses}, failures ${JSON.stringify(Object.fromEntries(this.failures))}`;
  }
}

/** Loads `b` and records the outcome: exact bytes, a miss, wrong bytes, or a (typed) failure. */
export async function loadInto(client: KvCacheClient, b: TestBlock, tally: Tally, query = b.key): Promise<"hit" | "miss" | "wrong" | "failed"> {
  try {
    const hit = await client.tryLoad(query);
    if (hit === null) {
      tally.misses++;
      return "miss";
    }
    if (hit.matchedPrefix === b.key && hit.data.equals(bytesOf(b))) {
      tally.verified++;
      return "hit";
    }
    tally.wrong++;
    return "wrong";
  } catch (err) {
    tally.fail(err);
    return "failed";
  }
}

/** Inserts `b`; resolves true when it was stored, records a typed failure otherwise. */
export async function insertInto(client: KvCacheClient, b: TestBlock, tally: Tally): Promise<boolean> {
  try {
    await client.insert(b.key, bytesOf(b));
    return true;
  } catch (err) {
    tally.fail(err);
    return false;
  }
}

/** SDK instances a test file opens, with the degraded events their clients emitted; closed by closeAll(). */
export class SdkPool {
  readonly degraded: string[] = [];
  private readonly sdks: DatenLordSDK[] = [];

  /** A client of a new SDK, once it sees `nodes` live nodes. */
  async connectTo(nodes: number, config: ConfigOverrides, extra: ConfigOverrides = {}): Promise<KvCacheClient> {
    const client = await this.connect(config, extra);
    await seesNodes(client, nodes);
    return client;
  }

  async connect(config: ConfigOverrides, extra: ConfigOverrides = {}): Promise<KvCacheClient> {
    const sdk = new DatenLordSDK({ env: {}, options: { ...config, ...extra } });
    this.sdks.push(sdk);
    const client = await sdk.connect();
    client.on("degraded", (e) => this.degraded.push(`${e.op}: ${e.error.code} ${e.error.message}`));
    return client;
  }

  /** Failed requests to cache nodes the SDKs counted (kvcache_backend_errors_total{backend="node"}): how often a fault was felt. */
  async nodeErrors(): Promise<number> {
    const counts = await Promise.all(this.sdks.map((s) => counterValue(s.metrics.cache.backendErrors, { backend: "node" })));
    return counts.reduce((a, b) => a + b, 0);
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.sdks.map((s) => s.close()));
  }
}

/** Waits until `client` sees exactly `count` live nodes (membership caught up after a start, kill or restart). */
export async function seesNodes(client: KvCacheClient, count: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await client.nodes()).length === count, { what: `${count} live node(s) in the SDK's membership`, timeoutMs });
}

/** Runs `work` over `items` with at most `width` in flight. */
export async function inParallel<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await work(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
}
