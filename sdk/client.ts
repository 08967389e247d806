import { EventEmitter } from "node:events";
import pLimit from "p-limit";
import type { AppConfig } from "../src/config.js";
import { ErrorCode, KvCacheError, isKvCacheError } from "../src/errors.js";
import type { CacheKey, EncodedKey } from "../src/keys.js";
import type { NodeInfo } from "../metadata/metadata-store.js";
import { InFlight } from "../storage/in-flight.js";
import type { Backend } from "./backend.js";
import { writeBlock } from "./block-writer.js";
import { deleteKey } from "./copies.js";
import type { CoreDeps } from "./core.js";
import { LocationHints } from "./location-hints.js";
import { findPrefix, loadPrefix } from "./lookup.js";
import { nodeStats } from "./node-stats.js";
import type { SdkMetrics, SdkResult } from "./sdk-metrics.js";
import type * as T from "./types.js";
import * as V from "./validate.js";

/** What a client is made of; built by DatenLordSDK.connect(). */
export interface ClientContext {
  readonly backend: Backend;
  readonly config: AppConfig;
  readonly metrics: SdkMetrics;
  readonly now: () => number;
  /** Called once when the client has closed (the SDK forgets it). */
  readonly onClosed: (client: KvCacheClient) => void;
}

const DEGRADED = Symbol("degraded");
type Soft<R> = R | null | typeof DEGRADED;

/**
 * A connection to the cache. Lookups that hit an infrastructure failure answer
 * a miss, count it and emit "degraded" (unless `sdk.strict`); bad input and use
 * after close always throw a typed error. Dispose with `await using` or close().
 */
export class KvCacheClient extends EventEmitter<T.ClientEvents> implements AsyncDisposable {
  readonly mode: "cluster" | "embedded";
  readonly namespace: string;
  readonly #ctx: ClientContext;
  readonly #deps: CoreDeps;
  readonly #inflight = new InFlight();
  #closing: Promise<void> | undefined;

  constructor(ctx: ClientContext) {
    super();
    this.#ctx = ctx;
    this.mode = ctx.backend.mode;
    this.namespace = ctx.config.namespace;
    this.#deps = coreDeps(ctx, (error) => this.reportDegraded("cleanup", error));
  }

  /** Stores `data` under `key`. An existing key is an idempotent success (`inserted: false`) unless `overwrite`. */
  async insert(key: CacheKey, data: T.BlockData, options?: T.InsertOptions): Promise<T.InsertResult> {
    this.#assertOpen();
    const { limits } = this.#ctx.config;
    return this.#insert({ key: V.validKey(key, limits), bytes: V.validData(data, limits), overwrite: V.validOverwrite(options) });
  }

  /**
   * The block of the deepest stored prefix of `query` (the query itself included),
   * or null. The query may be longer than `limits.maxKeyBytes`; keys may not.
   * With `options.into` the block is read into the caller's buffer (see LoadOptions).
   */
  async tryLoad<Q extends CacheKey>(query: Q, options?: T.LoadOptions): Promise<T.LoadHit<Q> | null> {
    this.#assertOpen();
    const into = V.validInto(options);
    return this.#tryLoad(query, V.validQuery(query, this.#ctx.config.limits), into);
  }

  /** Like tryLoad without fetching the data: the deepest stored prefix and its block size, or null. */
  async matchPrefix<Q extends CacheKey>(query: Q): Promise<T.PrefixMatch<Q> | null> {
    this.#assertOpen();
    const key = V.validQuery(query, this.#ctx.config.limits);
    return this.#soft("matchPrefix", () => findPrefix(this.#deps, query, key));
  }

  /** Inserts every item, at most `sdk.concurrency` at a time. Every item is validated before any is stored. */
  async insertMany(items: readonly T.InsertItem[]): Promise<T.InsertResult[]> {
    this.#assertOpen();
    const valid = V.validEach(V.validArray(items, "items"), "insertMany", (i) => V.validItem(i, this.#ctx.config.limits));
    return this.#batch("insertMany", valid, (item) => this.#insert(item));
  }

  /** tryLoad for each query, at most `sdk.concurrency` at a time; results in query order. */
  async tryLoadMany<Q extends CacheKey>(queries: readonly Q[]): Promise<(T.LoadHit<Q> | null)[]> {
    this.#assertOpen();
    const list = V.validArray(queries, "queries") as readonly Q[];
    const keys = V.validEach(list, "tryLoadMany", (q) => V.validQuery(q, this.#ctx.config.limits));
    return this.#batch("tryLoadMany", list, (q, i) => this.#tryLoad(q, keys[i]!));
  }

  /** Deletes `key`'s entry and its copies. Resolves false when there was none. */
  async delete(key: CacheKey): Promise<boolean> {
    this.#assertOpen();
    const encoded = V.validKey(key, this.#ctx.config.limits);
    return this.#track("delete", () => deleteKey(this.#deps, encoded), (d) => (d ? "ok" : "absent"));
  }

  /** Tier sizes of every live node (a node that cannot answer is listed with its error). */
  async stats(): Promise<T.ClientStats> {
    this.#assertOpen();
    const nodes = await this.#track("stats", () => nodeStats(this.#deps), () => "ok");
    return { mode: this.mode, namespace: this.namespace, nodes };
  }

  /** The live cache nodes. */
  async nodes(): Promise<NodeInfo[]> {
    this.#assertOpen();
    return [...this.#ctx.backend.peers.nodes()];
  }

  /** Stops accepting operations and waits for those in flight; idempotent. The SDK's backend stays open. */
  close(): Promise<void> {
    this.#closing ??= this.#drain();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  #insert(item: V.ValidInsert): Promise<T.InsertResult> {
    return this.#track("insert", () => writeBlock(this.#deps, item.key, item.bytes, item.overwrite), (r) => (r.inserted ? "ok" : "exists"));
  }

  #tryLoad<Q extends CacheKey>(query: Q, key: EncodedKey, into?: Uint8Array): Promise<T.LoadHit<Q> | null> {
    return this.#soft("tryLoad", () => loadPrefix(this.#deps, this.#ctx.metrics, query, key, into));
  }

  /**
   * A lookup: a miss is null; an infrastructure failure is a counted, emitted
   * miss unless strict. A block too large for the caller's `into` is the
   * caller's to handle, so it always throws.
   */
  async #soft<R>(op: T.SdkOp, work: () => Promise<R | null>): Promise<R | null> {
    const label = (r: Soft<R>): SdkResult => (r === DEGRADED ? "degraded" : r === null ? "miss" : "hit");
    const out = await this.#track<Soft<R>>(op, async () => {
      try {
        return await work();
      } catch (err) {
        if (!isKvCacheError(err) || err.code === ErrorCode.BUFFER_TOO_SMALL || this.#ctx.config.sdk.strict) throw err;
        this.reportDegraded(op, err);
        return DEGRADED;
      }
    }, label);
    return out === DEGRADED ? null : out;
  }

  async #track<R>(op: T.SdkOp, work: () => Promise<R>, label: (r: R) => SdkResult): Promise<R> {
    this.#assertOpen();
    const startedAt = process.hrtime.bigint();
    try {
      const result = await this.#inflight.track(work());
      this.#ctx.metrics.record(op, label(result), startedAt);
      return result;
    } catch (err) {
      this.#ctx.metrics.record(op, "error", startedAt);
      throw err;
    }
  }

  async #batch<I, R>(op: string, items: readonly I[], run: (item: I, index: number) => Promise<R>): Promise<R[]> {
    const limit = pLimit(this.#ctx.config.sdk.concurrency);
    const settled = await Promise.allSettled(items.map((item, i) => limit(() => run(item, i))));
    const failed = settled.findIndex((s) => s.status === "rejected");
    if (failed >= 0) throw V.atIndex((settled[failed] as PromiseRejectedResult).reason, op, failed);
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  /** Counts a degraded outcome and emits it as a "degraded" event (also used by the SDK for background failures). */
  reportDegraded(op: T.SdkOp, error: unknown): void {
    const typed = isKvCacheError(error) ? error : new KvCacheError(ErrorCode.NODE, `${op} failed: ${String(error)}`, { cause: error });
    this.#ctx.metrics.degraded.inc({ op, code: typed.code });
    this.emit("degraded", { op, error: typed });
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new KvCacheError(ErrorCode.CLOSED, "the client is closed");
  }

  async #drain(): Promise<void> {
    await this.#inflight.drain();
    this.#ctx.onClosed(this);
  }
}

function coreDeps(ctx: ClientContext, onCleanupError: (error: unknown) => void): CoreDeps {
  const { config, backend } = ctx;
  return {
    metadata: backend.metadata, peers: backend.peers, ...(backend.s3 === undefined ? {} : { s3: backend.s3 }), namespace: config.namespace,
    replicas: config.cluster.replicas, requestTimeoutMs: config.cluster.requestTimeoutMs,
    ...(backend.mode === "cluster" && config.sdk.locationHintBytes > 0 ? { hints: new LocationHints(config.sdk.locationHintBytes) } : {}),
    now: ctx.now, onCleanupError,
  };
}
