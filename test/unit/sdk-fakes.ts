import type { Block, BlockId } from "../../src/block.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";
import type { BlockPeer, PeerOptions, PeerStats } from "../../src/peer.js";
import type { MetadataStore, NodeInfo } from "../../metadata/metadata-store.js";
import type { Backend } from "../../sdk/backend.js";
import type { PeerDirectory } from "../../sdk/peer-directory.js";

/** How a fake node misbehaves: answer normally, fail every request, or never answer. */
export type PeerMode = "ok" | "fail" | "hang" | "corrupt";

/** An in-memory cache node speaking BlockPeer, counting the requests it gets. */
export class FakePeer implements BlockPeer {
  readonly blocks = new Map<BlockId, Block>();
  readonly calls = { get: 0, getNow: 0, put: 0, delete: 0, stats: 0 };
  mode: PeerMode = "ok";
  /** Whether getNow hands blocks over, as a same-host node's shared memory file does (else it has nothing, like a remote node). */
  servesNow = false;
  closed = false;

  constructor(readonly nodeId: string) {}

  getNow(id: BlockId): Block | undefined {
    this.calls.getNow++;
    // A node that fails or hangs is not served from at once (a same-host SDK asks a dead node, and waits).
    return this.servesNow && (this.mode === "ok" || this.mode === "corrupt") ? this.copyOf(id) : undefined;
  }

  async get(id: BlockId, options?: PeerOptions): Promise<Block | undefined> {
    this.calls.get++;
    await this.behave(options);
    return this.copyOf(id);
  }

  private copyOf(id: BlockId): Block | undefined {
    const block = this.blocks.get(id);
    if (block === undefined) return undefined;
    const data = Uint8Array.from(block.data);
    if (this.mode !== "corrupt" || data.length === 0) return { ...block, data };
    // A BlockPeer returns only bytes matching the checksum it reports (a PeerClient drops a reply that fails
    // its checksum), so a node holding a damaged or different copy shows up as a checksum other than the descriptor's.
    data[0]! ^= 0xff;
    return { ...block, data, checksum: (block.checksum ^ 1) >>> 0 };
  }

  async put(id: BlockId, block: Block, options?: PeerOptions): Promise<void> {
    this.calls.put++;
    await this.behave(options);
    this.blocks.set(id, { ...block, data: Uint8Array.from(block.data) });
  }

  async delete(id: BlockId, options?: PeerOptions): Promise<void> {
    this.calls.delete++;
    await this.behave(options);
    this.blocks.delete(id);
  }

  async stats(options?: PeerOptions): Promise<PeerStats> {
    this.calls.stats++;
    await this.behave(options);
    const bytes = [...this.blocks.values()].reduce((n, b) => n + b.data.length, 0);
    return { nodeId: this.nodeId, tiers: { memory: { items: this.blocks.size, bytes, capacityBytes: null } } };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private behave(options?: PeerOptions): Promise<void> {
    if (this.mode === "fail") return Promise.reject(new KvCacheError(ErrorCode.NODE, `node ${this.nodeId} failed`));
    if (this.mode !== "hang") return Promise.resolve();
    // Hangs until the caller's deadline aborts the request.
    return new Promise((_, reject) => options?.signal?.addEventListener("abort", () => reject(options.signal?.reason)));
  }
}

/** A directory whose membership the test changes directly. */
export class FakeDirectory implements PeerDirectory {
  readonly members = new Map<string, FakePeer>();

  constructor(peers: readonly FakePeer[]) {
    for (const p of peers) this.members.set(p.nodeId, p);
  }

  nodes(): readonly NodeInfo[] {
    return [...this.members.keys()].sort().map((nodeId) => ({ nodeId, address: `fake:${nodeId}`, adminAddress: "", startedAt: 0 }));
  }

  peer(nodeId: string): BlockPeer | undefined {
    return this.members.get(nodeId);
  }

  async close(): Promise<void> {
    for (const p of this.members.values()) await p.close();
  }
}

/** Switchable failure of every metadata call (etcd down), as ERR_ETCD_UNAVAILABLE. */
export function failingMetadata(inner: MetadataStore, failing: () => boolean): MetadataStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function" || prop === "close") return typeof value === "function" ? value.bind(target) : value;
      return (...args: unknown[]) => {
        if (failing()) return Promise.reject(new KvCacheError(ErrorCode.ETCD_UNAVAILABLE, "etcd is down (fake)"));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** A backend over the given metadata store and fake nodes. */
export function fakeBackend(metadata: MetadataStore, directory: FakeDirectory): Backend {
  return { mode: "cluster", metadata, peers: directory, close: async () => { await directory.close(); await metadata.close(); } };
}
