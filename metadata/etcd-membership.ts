import type { IKeyValue, Lease, Watcher } from "etcd3";
import { setTimeout as delay } from "node:timers/promises";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { EtcdRequests } from "./etcd-requests.js";
import type { KeyLayout } from "./key-layout.js";
import type { Closeable, NodeEvent, NodeInfo, NodeRegistration } from "./metadata-store.js";
import { decodeNodeInfo, encodeNodeInfo } from "./value-codec.js";

/**
 * Membership in etcd: a live node is `<root>/nodes/<id>` attached to a lease
 * the node keeps alive; when the node dies its lease expires and etcd deletes
 * the key. Joins and leaves are watch events on the nodes prefix.
 */
export class EtcdMembership {
  private readonly registrations = new Set<EtcdRegistration>();
  private readonly watches = new Set<Closeable>();

  constructor(
    private readonly requests: EtcdRequests,
    private readonly layout: KeyLayout,
  ) {}

  async register(info: NodeInfo, ttlSeconds: number): Promise<NodeRegistration> {
    const registration = new EtcdRegistration(this.requests, this.layout.nodeKey(info.nodeId), info, ttlSeconds, () => this.registrations.delete(registration));
    await registration.start();
    this.registrations.add(registration);
    return registration;
  }

  async live(signal?: AbortSignal): Promise<NodeInfo[]> {
    const { start, end } = this.layout.nodesRange();
    const response = await this.requests.range({ key: start, range_end: end }, signal);
    return response.kvs.map((kv) => decodeNodeInfo(kv.value, printable(kv.key))).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  async watch(listener: (event: NodeEvent) => void): Promise<Closeable> {
    const watcher = await this.createWatcher();
    const deliver = (event: NodeEvent): void => {
      try {
        listener(event);
      } catch {
        // etcd3 rethrows listener errors outside any handler (a process crash): contain them here.
      }
    };
    watcher.on("put", (kv) => this.onPut(kv, deliver));
    watcher.on("delete", (kv) => this.onDelete(kv, deliver));
    // A watcher without an "error" listener would crash the process on a cancelled watch.
    watcher.on("error", (err) => void this.requests.failure(err, "watch"));
    const handle: Closeable = {
      close: async () => {
        if (!this.watches.delete(handle)) return;
        await watcher.cancel().catch((err: unknown) => void this.requests.failure(err, "watch"));
      },
    };
    this.watches.add(handle);
    return handle;
  }

  /** Leaves (revokes every registration) and cancels every watch. */
  async close(): Promise<void> {
    await Promise.all([...this.registrations].map((r) => r.close()));
    await Promise.all([...this.watches].map((w) => w.close()));
  }

  private async createWatcher(): Promise<Watcher> {
    const { start } = this.layout.nodesRange();
    return this.requests.run("watch", (call) => {
      const creating = this.requests.client.watch().prefix(start).create();
      return withDeadline(creating, call.deadline as number, (late) => void late.cancel().catch(() => undefined));
    });
  }

  private onPut(kv: IKeyValue, deliver: (event: NodeEvent) => void): void {
    const nodeId = this.layout.parseNodeKey(kv.key);
    if (nodeId === undefined) return;
    try {
      deliver({ type: "join", nodeId, node: decodeNodeInfo(kv.value, printable(kv.key)) });
    } catch (err) {
      this.requests.failure(err, "watch");
    }
  }

  private onDelete(kv: IKeyValue, deliver: (event: NodeEvent) => void): void {
    const nodeId = this.layout.parseNodeKey(kv.key);
    if (nodeId !== undefined) deliver({ type: "leave", nodeId });
  }
}

/**
 * One node's membership. Keeps its lease alive (etcd3's Lease); when the lease
 * is lost (etcd answered that it expired, or no keep-alive got through for two
 * TTLs) it grants a new one, writes the key again and tells its listeners.
 */
class EtcdRegistration implements NodeRegistration {
  readonly nodeId: string;
  private lease: Lease | undefined;
  private readonly listeners: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly requests: EtcdRequests,
    private readonly key: Buffer,
    private readonly info: NodeInfo,
    private readonly ttlSeconds: number,
    private readonly onClose: () => void,
  ) {
    this.nodeId = info.nodeId;
  }

  async start(): Promise<void> {
    this.lease = await this.grantAndPut();
  }

  onReregistered(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Revokes the lease (etcd deletes the key at once). Never rejects: if etcd is unreachable the lease simply expires. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    const lease = this.lease;
    if (lease === undefined) return;
    await this.requests.run("lease", (call) => lease.revoke(call)).catch(() => lease.release());
  }

  private async grantAndPut(): Promise<Lease> {
    const lease = await this.requests.run("lease", async (call) => {
      const candidate = this.requests.client.lease(this.ttlSeconds, { deadline: call.deadline });
      candidate.on("lost", () => undefined);
      await candidate.grant().catch((err: unknown) => {
        candidate.release();
        throw err;
      });
      return candidate;
    });
    try {
      await this.requests.put({ key: this.key, value: encodeNodeInfo(this.info), lease: await lease.grant() });
    } catch (err) {
      await this.requests.run("lease", (call) => lease.revoke(call)).catch(() => lease.release());
      throw err;
    }
    lease.on("keepaliveFired", () => this.requests.count("lease"));
    lease.on("lost", () => void this.reregister(lease));
    return lease;
  }

  private async reregister(lost: Lease): Promise<void> {
    if (this.closed || lost !== this.lease) return;
    this.lease = undefined;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const lease = await this.grantAndPut();
        if (this.closed) {
          await this.requests.run("lease", (call) => lease.revoke(call)).catch(() => lease.release());
          return;
        }
        this.lease = lease;
        this.notify();
        return;
      } catch {
        // Already counted by EtcdRequests; keep trying until etcd is back or we close.
        await delay(Math.min(1000, 50 * 2 ** attempt), undefined, { ref: false });
      }
    }
  }

  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // One failing listener must not stop the others.
      }
    }
  }
}

/** Rejects with ERR_ETCD_UNAVAILABLE if `promise` has not settled by `deadline`; `onLate` gets a value that arrives after. */
function withDeadline<T>(promise: Promise<T>, deadline: number, onLate: (value: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let expired = false;
    const timer = setTimeout(() => {
      expired = true;
      reject(new KvCacheError(ErrorCode.ETCD_UNAVAILABLE, "etcd watch could not be established before the deadline"));
    }, Math.max(0, deadline - Date.now()));
    promise.then(
      (value) => (expired ? onLate(value) : (clearTimeout(timer), resolve(value))),
      (err: unknown) => (expired ? undefined : (clearTimeout(timer), reject(err))),
    );
  });
}

/** An etcd key for messages: its printable form (keys may hold any bytes). */
export function printable(key: Uint8Array): string {
  return JSON.stringify(Buffer.from(key).toString("latin1")).slice(1, -1);
}
