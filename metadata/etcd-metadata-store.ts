import type { Etcd3, IKeyValue, IRequestOp } from "etcd3";
import { setTimeout as delay } from "node:timers/promises";
import type { EtcdConfig } from "../src/config.js";
import { ErrorCode, isKvCacheError, KvCacheError, throwIfAborted } from "../src/errors.js";
import type { EncodedKey } from "../src/keys.js";
import { CacheMetrics } from "../src/metrics.js";
import { assertNamespace, assertNodeId, assertPageSize, assertQueryKey, assertRevision, assertStoredKey, assertTtlSeconds, MAX_METADATA_KEY_BYTES } from "./arguments.js";
import { successor } from "./bytes.js";
import { createEtcdClient } from "./etcd-client.js";
import { EtcdMembership, printable } from "./etcd-membership.js";
import { copyKey, putManyInEtcd, type PlannedPut } from "./etcd-put-many.js";
import { EtcdInsertBatcher } from "./etcd-insert-batcher.js";
import { EtcdRangeBatcher } from "./etcd-range-batcher.js";
import { EtcdRequests } from "./etcd-requests.js";
import { KeyLayout } from "./key-layout.js";
import { DenseRanges } from "./dense-ranges.js";
import { longestPrefix, type DescendingRange, type LongestPrefixOptions, type PointLookup } from "./longest-prefix.js";
import type {
  BlockDescriptor, Closeable, DescriptorUpdate, MetadataEntry, MetadataOptions, MetadataStore, NodeEvent, NodeInfo, NodeRegistration,
} from "./metadata-store.js";
import { decodeDescriptor, encodeDescriptor, normalizeDescriptor, normalizeNodeInfo } from "./value-codec.js";

export interface EtcdMetadataStoreOptions {
  readonly config: EtcdConfig;
  readonly metrics?: CacheMetrics;
  /** A client to use instead of one built from `config`; the caller owns it (close() leaves it open). */
  readonly client?: Etcd3;
  /** Tuning of the longest-prefix scan (default: batches of 8, a 1 KiB first window growing 16×). */
  readonly lookup?: LongestPrefixOptions;
  /**
   * Keys a lookup's range may span before lookups starting where it started
   * read their candidate prefixes one by one instead (default 256; see DenseRanges).
   */
  readonly denseRangeKeys?: number;
  /** Compare-and-set attempts of update() before ERR_CONFLICT (default 64). */
  readonly casAttempts?: number;
}

const DEFAULT_LOOKUP: LongestPrefixOptions = { batchSize: 8, windowBytes: 1024, windowGrowth: 16 };
const DEFAULT_PAGE_SIZE = 1000;
const DEFAULT_DENSE_RANGE_KEYS = 256;
/** Candidate prefixes read at once: up to 4 transactions (EtcdRangeBatcher cuts at 64 ranges), 2 in flight. */
const POINT_READS_AT_ONCE = 256;

/**
 * MetadataStore on etcd (key layout: key-layout.ts). Longest-prefix lookups are
 * descending range scans with a limit (longest-prefix.ts); writes are
 * transactions conditioned on create_revision / mod_revision. Every request
 * goes through EtcdRequests (metrics, deadline, error mapping, retries).
 */
export class EtcdMetadataStore implements MetadataStore {
  private readonly layout: KeyLayout;
  private readonly requests: EtcdRequests;
  private readonly lookups: EtcdRangeBatcher;
  private readonly denseRanges: DenseRanges;
  private readonly inserts: EtcdInsertBatcher;
  private readonly membership: EtcdMembership;
  private closed = false;

  /** Builds the client and checks that etcd answers; ERR_ETCD_UNAVAILABLE naming the endpoints when it does not. */
  static async connect(options: EtcdMetadataStoreOptions): Promise<EtcdMetadataStore> {
    const client = options.client ?? createEtcdClient(options.config);
    const store = new EtcdMetadataStore(client, options);
    try {
      await store.ping();
    } catch (err) {
      if (options.client === undefined) client.close();
      throw err;
    }
    return store;
  }

  private constructor(
    private readonly client: Etcd3,
    private readonly options: EtcdMetadataStoreOptions,
  ) {
    this.layout = new KeyLayout(options.config.rootPrefix);
    const metrics = options.metrics ?? new CacheMetrics();
    this.requests = new EtcdRequests({ client, metrics, timeoutMs: options.config.requestTimeoutMs, endpoints: options.config.endpoints });
    this.membership = new EtcdMembership(this.requests, this.layout);
    this.lookups = new EtcdRangeBatcher(client);
    this.denseRanges = new DenseRanges(options.denseRangeKeys ?? DEFAULT_DENSE_RANGE_KEYS);
    this.inserts = new EtcdInsertBatcher(this.requests, (key, kv) => this.entryOf(key, kv));
  }

  async longestPrefix(namespace: string, query: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined> {
    this.check(options);
    assertNamespace(namespace);
    assertQueryKey(query);
    const prefix = this.layout.kindPrefix(namespace, query.kind);
    const range: DescendingRange<IKeyValue> = async (upper, lower, limit) => {
      const request = { key: Buffer.concat([prefix, lower]), range_end: successor(Buffer.concat([prefix, upper])), limit, sort_order: "Descend" as const, sort_target: "Key" as const };
      // Concurrent lookups share one transaction (see EtcdRangeBatcher).
      const response = await this.requests.run("range", (call) => this.lookups.range(request, call), options?.signal);
      this.denseRanges.note(prefix, lower, Number(response.count));
      return response.kvs.map((kv) => ({ key: kv.key.subarray(prefix.length), value: kv }));
    };
    const points: PointLookup<IKeyValue> = {
      dense: (lower) => this.denseRanges.has(prefix, lower),
      read: (keys) => this.requests.run("range", (call) => Promise.all(keys.map(async (key) => {
        const kv = (await this.lookups.range({ key: Buffer.concat([prefix, key]) }, call)).kvs[0];
        return kv === undefined ? undefined : { key, value: kv };
      })), options?.signal),
      maxCandidates: POINT_READS_AT_ONCE,
    };
    // No stored key is longer than the cap, so neither is an answer.
    const q = query.bytes.subarray(0, MAX_METADATA_KEY_BYTES);
    const found = await longestPrefix(q, range, { unit: query.kind === "tok" ? 4 : 1, ...DEFAULT_LOOKUP, ...this.options.lookup }, points);
    return found === undefined ? undefined : this.entryOf({ kind: query.kind, bytes: found.key }, found.value);
  }

  async get(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined> {
    const etcdKey = this.keyOf(namespace, key, options);
    // Batched with concurrent lookups: insert's existence check is one of these.
    const kv = (await this.requests.run("range", (call) => this.lookups.range({ key: etcdKey }, call), options?.signal)).kvs[0];
    return kv === undefined ? undefined : this.entryOf(key, kv);
  }

  async insertIfAbsent(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ inserted: boolean; entry: MetadataEntry }> {
    this.check(options);
    assertNamespace(namespace);
    const written = normalizeDescriptor(descriptor);
    // Concurrent inserts share one transaction (see EtcdInsertBatcher).
    return this.inserts.insert({ key, etcdKey: this.keyOf(namespace, key), descriptor: written, value: encodeDescriptor(written), ifAbsent: true }, options?.signal);
  }

  async put(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ entry: MetadataEntry; previous: MetadataEntry | undefined }> {
    const etcdKey = this.keyOf(namespace, key, options);
    const written = normalizeDescriptor(descriptor);
    const response = await this.requests.put({ key: etcdKey, value: encodeDescriptor(written), prev_kv: true }, options?.signal);
    const previous = response.prev_kv ? this.entryOf(key, response.prev_kv) : undefined;
    return { entry: { key: copyKey(key), descriptor: written, revision: response.header.revision }, previous };
  }

  async putMany(
    namespace: string,
    items: readonly { key: EncodedKey; descriptor: BlockDescriptor; ifAbsent: boolean }[],
    options?: MetadataOptions,
  ): Promise<{ inserted: boolean; entry: MetadataEntry }[]> {
    this.check(options);
    assertNamespace(namespace);
    // Validate everything first: bad input stores nothing.
    const planned = items.map((item, index): PlannedPut => {
      const descriptor = normalizeDescriptor(item.descriptor);
      return { index, key: item.key, etcdKey: this.keyOf(namespace, item.key), descriptor, value: encodeDescriptor(descriptor), ifAbsent: item.ifAbsent === true };
    });
    return putManyInEtcd(this.requests, planned, (key, kv) => this.entryOf(key, kv), options?.signal);
  }

  async update(
    namespace: string,
    key: EncodedKey,
    fn: (current: BlockDescriptor | undefined) => DescriptorUpdate,
    options?: MetadataOptions,
  ): Promise<MetadataEntry | undefined> {
    const etcdKey = this.keyOf(namespace, key, options);
    let kv = (await this.requests.range({ key: etcdKey }, options?.signal)).kvs[0];
    const attempts = this.options.casAttempts ?? 64;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const current = kv === undefined ? undefined : this.entryOf(key, kv);
      const next = fn(current?.descriptor);
      if (next === undefined || (next === null && current === undefined)) return current;
      const written = next === null ? null : normalizeDescriptor(next);
      const outcome = await this.compareAndWrite(etcdKey, kv, written, options?.signal);
      if (outcome.succeeded) return written === null ? undefined : { key: copyKey(key), descriptor: written, revision: outcome.revision };
      kv = outcome.current;
      // Spread competing writers out; the failed transaction already returned the fresh value.
      await delay(Math.random() * Math.min(50, 2 ** attempt), undefined, { signal: options?.signal }).catch(() => throwIfAborted(options?.signal));
    }
    throw new KvCacheError(ErrorCode.CONFLICT, `update of ${printable(etcdKey)} lost to concurrent writers ${attempts} times`, { details: { attempts } });
  }

  async compareAndDelete(namespace: string, key: EncodedKey, revision: string, options?: MetadataOptions): Promise<boolean> {
    const etcdKey = this.keyOf(namespace, key, options);
    assertRevision(revision);
    const response = await this.requests.txn(
      { compare: [{ key: etcdKey, target: "Mod", result: "Equal", mod_revision: revision }], success: [{ request_delete_range: { key: etcdKey } }] },
      options?.signal,
    );
    return response.succeeded;
  }

  async delete(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<boolean> {
    const etcdKey = this.keyOf(namespace, key, options);
    const response = await this.requests.deleteRange({ key: etcdKey }, options?.signal);
    return Number(response.deleted) > 0;
  }

  async *entries(options?: MetadataOptions & { pageSize?: number }): AsyncIterable<{ namespace: string; entry: MetadataEntry }> {
    this.check(options);
    assertPageSize(options?.pageSize);
    const limit = options?.pageSize ?? DEFAULT_PAGE_SIZE;
    const { start, end } = this.layout.entriesRange();
    for (let from = start; ; ) {
      this.check(options);
      const response = await this.requests.range({ key: from, range_end: end, limit }, options?.signal);
      for (const kv of response.kvs) {
        const parsed = this.layout.parseEntryKey(kv.key);
        if (parsed === undefined) throw new KvCacheError(ErrorCode.ETCD, `unexpected key ${printable(kv.key)} under the entries prefix`, { retryable: false });
        yield { namespace: parsed.namespace, entry: this.entryOf(parsed.key, kv) };
      }
      const last = response.kvs[response.kvs.length - 1];
      if (!response.more || last === undefined) return;
      from = successor(last.key);
    }
  }

  async registerNode(node: NodeInfo, ttlSeconds: number): Promise<NodeRegistration> {
    this.check();
    const info = normalizeNodeInfo(node);
    assertNodeId(info.nodeId);
    assertTtlSeconds(ttlSeconds);
    return this.membership.register(info, ttlSeconds);
  }

  async liveNodes(options?: MetadataOptions): Promise<NodeInfo[]> {
    this.check(options);
    return this.membership.live(options?.signal);
  }

  async watchNodes(listener: (event: NodeEvent) => void): Promise<Closeable> {
    this.check();
    return this.membership.watch(listener);
  }

  /** Leaves (revokes this store's registrations), cancels its watches, and closes the client it built. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.membership.close();
    if (this.options.client === undefined) this.client.close();
  }

  /** One cheap linearizable read: proves an endpoint answers and the cluster has a leader. */
  private async ping(): Promise<void> {
    try {
      await this.requests.range({ key: this.layout.nodesRange().start, limit: 1, keys_only: true });
    } catch (err) {
      if (!isKvCacheError(err, ErrorCode.ETCD_UNAVAILABLE) && !isKvCacheError(err, ErrorCode.TIMEOUT)) throw err;
      const endpoints = this.options.config.endpoints.join(", ");
      throw new KvCacheError(ErrorCode.ETCD_UNAVAILABLE, `cannot reach etcd at ${endpoints} within ${this.options.config.requestTimeoutMs} ms`, {
        cause: err,
        details: { endpoints: this.options.config.endpoints },
      });
    }
  }

  /** Writes `next` (or deletes, when null) only if the key is still as read in `read`. */
  private async compareAndWrite(etcdKey: Buffer, read: IKeyValue | undefined, next: BlockDescriptor | null, signal?: AbortSignal): Promise<{ succeeded: boolean; revision: string; current?: IKeyValue }> {
    const compare = read === undefined
      ? { key: etcdKey, target: "Create" as const, result: "Equal" as const, create_revision: 0 }
      : { key: etcdKey, target: "Mod" as const, result: "Equal" as const, mod_revision: read.mod_revision };
    const write: IRequestOp = next === null ? { request_delete_range: { key: etcdKey } } : { request_put: { key: etcdKey, value: encodeDescriptor(next) } };
    const response = await this.requests.txn({ compare: [compare], success: [write], failure: [{ request_range: { key: etcdKey } }] }, signal);
    const current = response.succeeded ? undefined : response.responses[0]?.response_range?.kvs[0];
    return { succeeded: response.succeeded, revision: response.header.revision, ...(current === undefined ? {} : { current }) };
  }

  private entryOf(key: EncodedKey, kv: IKeyValue): MetadataEntry {
    return { key: copyKey(key), descriptor: decodeDescriptor(kv.value, () => printable(kv.key)), revision: kv.mod_revision };
  }

  private keyOf(namespace: string, key: EncodedKey, options?: MetadataOptions): Buffer {
    this.check(options);
    assertNamespace(namespace);
    assertStoredKey(key);
    return this.layout.entryKey(namespace, key);
  }

  private check(options?: MetadataOptions): void {
    if (this.closed) throw new KvCacheError(ErrorCode.CLOSED, "metadata store is closed");
    throwIfAborted(options?.signal);
  }
}

