import { ErrorCode, KvCacheError, throwIfAborted } from "../src/errors.js";
import type { EncodedKey, KeyKind } from "../src/keys.js";
import { assertNamespace, assertNodeId, assertPageSize, assertQueryKey, assertRevision, assertStoredKey, assertTtlSeconds, MAX_METADATA_KEY_BYTES } from "./arguments.js";
import { escapeName } from "./key-layout.js";
import { longestPrefix, type LongestPrefixOptions } from "./longest-prefix.js";
import { MemoryMembership } from "./memory-membership.js";
import type {
  BlockDescriptor, Closeable, DescriptorUpdate, MetadataEntry, MetadataOptions, MetadataStore, NodeEvent, NodeInfo, NodeRegistration,
} from "./metadata-store.js";
import { SortedKeySpace } from "./sorted-key-space.js";
import { normalizeDescriptor, normalizeNodeInfo } from "./value-codec.js";

export interface MemoryMetadataStoreOptions {
  /** Clock of membership leases, in milliseconds (default Date.now); tests pass a fake one. */
  readonly now?: () => number;
  /** Tuning of the longest-prefix scan (default: batches of 8, no window). */
  readonly lookup?: LongestPrefixOptions;
}

interface Stored {
  readonly descriptor: BlockDescriptor;
  readonly revision: string;
}

interface Space {
  readonly namespace: string;
  readonly kind: KeyKind;
  readonly keys: SortedKeySpace<Stored>;
}

const DEFAULT_PAGE_SIZE = 1000;

/**
 * The embedded MetadataStore: the same semantics as EtcdMetadataStore, in one
 * process. One sorted key space per namespace and kind, ids ordered the way
 * the etcd key layout orders them, so `entries()` walks in the same order;
 * revisions come from a store-wide counter; membership has lease semantics
 * (see MemoryMembership).
 */
export class MemoryMetadataStore implements MetadataStore {
  private readonly spaces = new Map<string, Space>();
  private readonly membership: MemoryMembership;
  private readonly lookup: LongestPrefixOptions;
  private lastRevision = 0;
  private closed = false;

  constructor(options: MemoryMetadataStoreOptions = {}) {
    this.membership = new MemoryMembership(options.now ?? Date.now);
    this.lookup = options.lookup ?? {};
  }

  async longestPrefix(namespace: string, query: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined> {
    this.check(options);
    assertNamespace(namespace);
    assertQueryKey(query);
    const space = this.spaces.get(spaceId(namespace, query.kind));
    if (space === undefined) return undefined;
    const q = query.bytes.subarray(0, MAX_METADATA_KEY_BYTES);
    const found = await longestPrefix(q, async (upper, lower, limit) => space.keys.descending(upper, lower, limit), {
      unit: query.kind === "tok" ? 4 : 1,
      ...this.lookup,
    });
    return found === undefined ? undefined : toEntry(query.kind, found.key, found.value);
  }

  async get(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<MetadataEntry | undefined> {
    this.checkKey(namespace, key, options);
    const stored = this.spaces.get(spaceId(namespace, key.kind))?.keys.get(key.bytes);
    return stored === undefined ? undefined : toEntry(key.kind, key.bytes, stored);
  }

  async insertIfAbsent(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ inserted: boolean; entry: MetadataEntry }> {
    this.checkKey(namespace, key, options);
    return this.write(namespace, key, normalizeDescriptor(descriptor), true);
  }

  async put(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, options?: MetadataOptions): Promise<{ entry: MetadataEntry; previous: MetadataEntry | undefined }> {
    this.checkKey(namespace, key, options);
    const space = this.space(namespace, key.kind);
    const stored = { descriptor: normalizeDescriptor(descriptor), revision: this.nextRevision() };
    const previous = space.keys.set(key.bytes, stored);
    return { entry: toEntry(key.kind, key.bytes, stored), previous: previous === undefined ? undefined : toEntry(key.kind, key.bytes, previous) };
  }

  async putMany(
    namespace: string,
    items: readonly { key: EncodedKey; descriptor: BlockDescriptor; ifAbsent: boolean }[],
    options?: MetadataOptions,
  ): Promise<{ inserted: boolean; entry: MetadataEntry }[]> {
    this.check(options);
    assertNamespace(namespace);
    // Validate everything first: bad input stores nothing.
    const checked = items.map((item) => {
      assertStoredKey(item.key);
      return { key: item.key, descriptor: normalizeDescriptor(item.descriptor), ifAbsent: item.ifAbsent === true };
    });
    return checked.map((item) => this.write(namespace, item.key, item.descriptor, item.ifAbsent));
  }

  async update(
    namespace: string,
    key: EncodedKey,
    fn: (current: BlockDescriptor | undefined) => DescriptorUpdate,
    options?: MetadataOptions,
  ): Promise<MetadataEntry | undefined> {
    this.checkKey(namespace, key, options);
    const current = this.spaces.get(spaceId(namespace, key.kind))?.keys.get(key.bytes);
    const next = fn(current?.descriptor);
    if (next === undefined) return current === undefined ? undefined : toEntry(key.kind, key.bytes, current);
    if (next === null) {
      this.remove(namespace, key);
      return undefined;
    }
    const stored = { descriptor: normalizeDescriptor(next), revision: this.nextRevision() };
    this.space(namespace, key.kind).keys.set(key.bytes, stored);
    return toEntry(key.kind, key.bytes, stored);
  }

  async compareAndDelete(namespace: string, key: EncodedKey, revision: string, options?: MetadataOptions): Promise<boolean> {
    this.checkKey(namespace, key, options);
    assertRevision(revision);
    const stored = this.spaces.get(spaceId(namespace, key.kind))?.keys.get(key.bytes);
    return stored?.revision === revision && this.remove(namespace, key);
  }

  async delete(namespace: string, key: EncodedKey, options?: MetadataOptions): Promise<boolean> {
    this.checkKey(namespace, key, options);
    return this.remove(namespace, key);
  }

  async *entries(options?: MetadataOptions & { pageSize?: number }): AsyncIterable<{ namespace: string; entry: MetadataEntry }> {
    this.check(options);
    assertPageSize(options?.pageSize);
    const pageSize = options?.pageSize ?? DEFAULT_PAGE_SIZE;
    for (const id of [...this.spaces.keys()].sort()) {
      for (let after: Uint8Array | undefined; ; ) {
        this.check(options);
        const space = this.spaces.get(id);
        const page = space?.keys.ascendingAfter(after, pageSize) ?? [];
        for (const { key, value } of page) yield { namespace: space!.namespace, entry: toEntry(space!.kind, key, value) };
        if (page.length < pageSize) break;
        after = page[page.length - 1]!.key;
      }
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
    return this.membership.live();
  }

  async watchNodes(listener: (event: NodeEvent) => void): Promise<Closeable> {
    this.check();
    return this.membership.watch(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.membership.close();
  }

  private write(namespace: string, key: EncodedKey, descriptor: BlockDescriptor, ifAbsent: boolean): { inserted: boolean; entry: MetadataEntry } {
    const space = this.space(namespace, key.kind);
    const existing = ifAbsent ? space.keys.get(key.bytes) : undefined;
    if (existing !== undefined) return { inserted: false, entry: toEntry(key.kind, key.bytes, existing) };
    const stored = { descriptor, revision: this.nextRevision() };
    space.keys.set(key.bytes, stored);
    return { inserted: true, entry: toEntry(key.kind, key.bytes, stored) };
  }

  private remove(namespace: string, key: EncodedKey): boolean {
    const id = spaceId(namespace, key.kind);
    const space = this.spaces.get(id);
    if (space?.keys.delete(key.bytes) === undefined) return false;
    if (space.keys.size === 0) this.spaces.delete(id);
    return true;
  }

  private space(namespace: string, kind: KeyKind): Space {
    const id = spaceId(namespace, kind);
    let space = this.spaces.get(id);
    if (space === undefined) {
      space = { namespace, kind, keys: new SortedKeySpace<Stored>() };
      this.spaces.set(id, space);
    }
    return space;
  }

  private nextRevision(): string {
    this.lastRevision += 1;
    return String(this.lastRevision);
  }

  private checkKey(namespace: string, key: EncodedKey, options: MetadataOptions | undefined): void {
    this.check(options);
    assertNamespace(namespace);
    assertStoredKey(key);
  }

  private check(options?: MetadataOptions): void {
    if (this.closed) throw new KvCacheError(ErrorCode.CLOSED, "metadata store is closed");
    throwIfAborted(options?.signal);
  }
}

/** `<escaped namespace>/<s|t>`: sorting these strings sorts spaces as the etcd layout does (ASCII only). */
function spaceId(namespace: string, kind: KeyKind): string {
  return `${escapeName(namespace)}/${kind === "str" ? "s" : "t"}`;
}

function toEntry(kind: KeyKind, bytes: Uint8Array, stored: Stored): MetadataEntry {
  return { key: { kind, bytes: Buffer.from(bytes) }, descriptor: stored.descriptor, revision: stored.revision };
}
