import type { S3Client } from "@aws-sdk/client-s3";
import pLimit, { type LimitFunction } from "p-limit";
import type { Block, BlockId } from "../src/block.js";
import type { S3Config } from "../src/config.js";
import { ErrorCode, KvCacheError, throwIfAborted } from "../src/errors.js";
import { CacheMetrics } from "../src/metrics.js";
import type { BlockTier, CorruptionHandler, TierOptions, TierStats } from "./block-tier.js";
import { InFlight } from "./in-flight.js";
import { makeS3Client } from "./s3-client.js";
import { toS3Error, type S3ErrorContext } from "./s3-errors.js";
import { S3KeyLayout } from "./s3-keys.js";
import { decodeObject, encodeObject } from "./s3-object-format.js";
import { S3Objects } from "./s3-objects.js";
import { assertStorable, getEach, guardBatch, guardIdOp, guardOp, notifyCorrupt, putEach } from "./tier-support.js";

export interface S3TierOptions {
  /** Bucket, prefix, endpoint, credentials, concurrency, multipart threshold, request timeout. */
  readonly config: S3Config;
  /** Objects live under `<prefix>/<namespace percent-encoded>/`; see {@link S3KeyLayout}. */
  readonly namespace: string;
  /** A client to share; the tier then never destroys it. Without one the tier makes (and owns) its own. */
  readonly client?: S3Client;
  readonly metrics?: CacheMetrics;
  /** Told about each object dropped because it failed its checksum (see {@link CorruptionHandler}). */
  readonly onCorrupt?: CorruptionHandler;
  /** Receives what `onCorrupt` threw (otherwise dropped: never the read's failure). */
  readonly onError?: (err: unknown) => void;
  /** Keys per ListObjectsV2 page in ids() and recount(): 1000 (the S3 maximum) unless a test pages smaller. */
  readonly listPageSize?: number;
}

const TIER = "s3";

/** DeleteObjects takes, and ListObjectsV2 returns, at most 1000 keys per request. */
const DELETE_BATCH = 1000;

/**
 * The S3 tier: one object per block (format in `s3-object-format.ts`), keys from
 * {@link S3KeyLayout}. Capacity is unbounded.
 *
 * - At most `config.maxConcurrency` tier operations talk to S3 at once (p-limit);
 *   a multipart upload counts as one but may hold up to 4 part requests.
 * - Each request has a deadline of `config.requestTimeoutMs` (a multipart upload:
 *   that per part, plus two), combined with the caller's signal.
 * - `stats()` counts the objects this instance wrote and has not deleted, plus
 *   those found by {@link S3Tier.recount} (warm restart): sizing a bucket costs a
 *   listing, so it is never done implicitly. `bytes` are object sizes, i.e. the
 *   payload plus a tag too large for metadata (see `s3-object-format.ts`).
 * - `has` is a HEAD: it does not verify the checksum (`get` does).
 */
export class S3Tier implements BlockTier {
  readonly name = TIER;
  readonly #config: S3Config;
  readonly #objects: S3Objects;
  readonly #ownsClient: boolean;
  readonly #layout: S3KeyLayout;
  readonly #metrics: CacheMetrics;
  readonly #limit: LimitFunction;
  readonly #onCorrupt: CorruptionHandler | undefined;
  readonly #onError: (err: unknown) => void;
  readonly #listPageSize: number;
  /** Object size of each object counted into stats (written here, or found by recount). */
  readonly #written = new Map<BlockId, number>();
  readonly #inFlight = new InFlight();
  #bytes = 0;
  #closed = false;

  constructor(options: S3TierOptions) {
    this.#config = options.config;
    this.#layout = new S3KeyLayout(options.config.prefix, options.namespace);
    this.#ownsClient = options.client === undefined;
    this.#objects = new S3Objects(options.client ?? makeS3Client(options.config), options.config.bucket, options.config.multipartThresholdBytes);
    this.#metrics = options.metrics ?? new CacheMetrics();
    this.#limit = pLimit(options.config.maxConcurrency);
    this.#onCorrupt = options.onCorrupt;
    this.#onError = options.onError ?? (() => undefined);
    this.#listPageSize = options.listPageSize ?? DELETE_BATCH;
    this.#report();
  }

  async get(id: BlockId, options?: TierOptions): Promise<Block | undefined> {
    guardIdOp(TIER, this.#closed, id, options);
    const key = this.#layout.keyOf(id);
    const found = await this.#request("get", key, options?.signal, (signal) => this.#objects.get(key, signal));
    if (found === undefined) {
      this.#metrics.tierMisses.inc({ tier: TIER });
      return undefined;
    }
    const block = decodeObject(found.metadata, found.body);
    if (block === undefined) await this.#dropCorrupt(id, options);
    else this.#countHit(block);
    return block;
  }

  async put(id: BlockId, block: Block, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    assertStorable(TIER, block, Infinity);
    const key = this.#layout.keyOf(id);
    const object = encodeObject(block);
    // A multipart upload is many requests: it gets the deadline of one per part, plus two.
    const parts = object.body.length < this.#objects.partSize ? 0 : Math.ceil(object.body.length / this.#objects.partSize) + 2;
    const timeoutMs = this.#config.requestTimeoutMs * Math.max(1, parts);
    await this.#request("put", key, options?.signal, (signal) => this.#objects.put(key, object, signal), timeoutMs);
    this.#track(id, object.body.length);
  }

  async has(id: BlockId, options?: TierOptions): Promise<boolean> {
    guardIdOp(TIER, this.#closed, id, options);
    const key = this.#layout.keyOf(id);
    return this.#request("has", key, options?.signal, (signal) => this.#objects.exists(key, signal));
  }

  async delete(id: BlockId, options?: TierOptions): Promise<void> {
    guardIdOp(TIER, this.#closed, id, options);
    const key = this.#layout.keyOf(id);
    await this.#request("delete", key, options?.signal, (signal) => this.#objects.delete(key, signal));
    this.#untrack(id);
  }

  async getMany(ids: readonly BlockId[], options?: TierOptions): Promise<(Block | undefined)[]> {
    guardOp(TIER, this.#closed, options);
    ids.forEach((id) => this.#layout.keyOf(id));
    return getEach(this, ids, options);
  }

  async putMany(entries: readonly (readonly [BlockId, Block])[], options?: TierOptions): Promise<void> {
    guardBatch(TIER, this.#closed, entries, Infinity, options);
    await putEach(this, entries, options);
  }

  async deleteMany(ids: readonly BlockId[], options?: TierOptions): Promise<void> {
    guardOp(TIER, this.#closed, options);
    const unique = [...new Set(ids)];
    const keys = unique.map((id) => this.#layout.keyOf(id));
    const batches: string[][] = [];
    for (let i = 0; i < keys.length; i += DELETE_BATCH) batches.push(keys.slice(i, i + DELETE_BATCH));
    await Promise.all(batches.map((batch) => this.#deleteBatch(batch, options?.signal)));
    for (const id of unique) this.#untrack(id);
  }

  async *ids(options?: TierOptions): AsyncIterable<BlockId> {
    guardOp(TIER, this.#closed, options);
    for await (const [id] of this.#listObjects(options?.signal)) yield id;
  }

  /**
   * Lists the namespace and counts every object in it into `stats()`, replacing
   * what this instance counted so far: a warm restart calls it once (it costs one
   * request per 1000 objects). Sizes come from the listing, i.e. object sizes.
   */
  async recount(options?: TierOptions): Promise<TierStats> {
    const found = new Map<BlockId, number>();
    for await (const [id, size] of this.#listObjects(options?.signal)) found.set(id, size);
    this.#written.clear();
    this.#bytes = 0;
    for (const [id, size] of found) this.#track(id, size);
    return this.stats();
  }

  stats(): TierStats {
    return { items: this.#written.size, bytes: this.#bytes, capacityBytes: Infinity };
  }

  /** Waits for requests in flight, then destroys the client if the tier made it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inFlight.drain();
    if (this.#ownsClient) this.#objects.client.destroy();
  }

  /**
   * Runs one S3 exchange under the concurrency limit with a deadline, mapping
   * every failure through {@link toS3Error} and counting backend failures.
   */
  #request<T>(
    op: string,
    key: string,
    caller: AbortSignal | undefined,
    exchange: (signal: AbortSignal) => Promise<T>,
    timeoutMs = this.#config.requestTimeoutMs,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(new KvCacheError(ErrorCode.CLOSED, "S3 tier is closed"));
    const run = this.#limit(async () => {
      throwIfAborted(caller);
      const deadline = AbortSignal.timeout(timeoutMs);
      const signal = caller === undefined ? deadline : AbortSignal.any([caller, deadline]);
      try {
        return await exchange(signal);
      } catch (err) {
        throw this.#fail(err, { op, bucket: this.#config.bucket, key, caller, deadline });
      }
    });
    return this.#inFlight.track(run);
  }

  #fail(err: unknown, ctx: S3ErrorContext): KvCacheError {
    const mapped = toS3Error(err, ctx);
    if (mapped.code === ErrorCode.S3 || mapped.code === ErrorCode.TIMEOUT) {
      this.#metrics.backendErrors.inc({ backend: "s3", code: mapped.code });
    }
    return mapped;
  }

  async #deleteBatch(keys: string[], caller: AbortSignal | undefined): Promise<void> {
    const failed = await this.#request("deleteMany", keys[0] ?? "", caller, (signal) => this.#objects.deleteBatch(keys, signal));
    if (failed.length > 0) {
      const first = failed[0];
      const err = new KvCacheError(ErrorCode.S3, `S3 deleteMany failed for ${failed.length} of ${keys.length} objects: ${first?.Code}: ${first?.Message}`, {
        details: { bucket: this.#config.bucket, keys: failed.slice(0, 10).map((e) => e.Key) },
      });
      this.#metrics.backendErrors.inc({ backend: "s3", code: err.code });
      throw err;
    }
  }

  /** Every object of the namespace as [id, object size], page by page (ListObjectsV2). */
  async *#listObjects(caller: AbortSignal | undefined): AsyncIterable<[BlockId, number]> {
    const prefix = this.#layout.namespacePrefix;
    let token: string | undefined;
    do {
      const page = await this.#request("list", prefix, caller, (signal) => this.#objects.listPage(prefix, token, this.#listPageSize, signal));
      for (const object of page.Contents ?? []) {
        const id = this.#layout.idOf(object.Key ?? "");
        if (id !== undefined) yield [id, object.Size ?? 0];
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /**
   * A damaged object is deleted, counted, and reported as a miss (tier contract).
   * The owner hears of it only once the object is gone, so it never re-reads it.
   */
  async #dropCorrupt(id: BlockId, options?: TierOptions): Promise<void> {
    this.#metrics.checksumFailures.inc({ tier: TIER });
    this.#metrics.tierMisses.inc({ tier: TIER });
    this.#metrics.blockMoves.inc({ from: TIER, to: "none", reason: "corrupt" });
    // A failed delete is counted (backendErrors) and retried by the next read
    // that meets the object; the read itself is still a plain miss.
    const deleted = await this.delete(id, options).then(() => true, () => false);
    if (deleted) notifyCorrupt(this.#onCorrupt, id, this.#onError);
  }

  #countHit(block: Block): void {
    this.#metrics.tierHits.inc({ tier: TIER });
    this.#metrics.tierHitBytes.inc({ tier: TIER }, block.data.length);
  }

  #track(id: BlockId, bytes: number): void {
    this.#bytes += bytes - (this.#written.get(id) ?? 0);
    this.#written.set(id, bytes);
    this.#report();
  }

  #untrack(id: BlockId): void {
    const bytes = this.#written.get(id);
    if (bytes === undefined) return;
    this.#written.delete(id);
    this.#bytes -= bytes;
    this.#report();
  }

  #report(): void {
    this.#metrics.reportTier(TIER, this.stats());
  }
}
