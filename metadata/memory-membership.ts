import type { Closeable, NodeEvent, NodeInfo, NodeRegistration } from "./metadata-store.js";

/**
 * In-process membership with etcd's lease semantics: a registration holds a
 * lease of `ttlSeconds` that a keep-alive timer renews every third of the TTL.
 * A lease whose deadline passed (by the injected clock: a stalled event loop,
 * or a test moving a fake clock) is expired: its node leaves, and the
 * registration re-registers under a new lease and tells its listeners, as the
 * etcd store does after losing a lease. Timers are unref'd and cleared on close.
 */
export class MemoryMembership {
  private readonly nodes = new Map<string, { readonly info: NodeInfo; readonly lease: Lease }>();
  private readonly watchers = new Set<(event: NodeEvent) => void>();
  private readonly registrations = new Set<MemoryRegistration>();

  constructor(readonly now: () => number) {}

  register(info: NodeInfo, ttlSeconds: number): NodeRegistration {
    const registration = new MemoryRegistration(this, info, ttlSeconds * 1000);
    this.registrations.add(registration);
    return registration;
  }

  /** Live nodes, by node id. */
  live(): NodeInfo[] {
    this.expire();
    return [...this.nodes.values()].map((n) => n.info).sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
  }

  watch(listener: (event: NodeEvent) => void): Closeable {
    this.watchers.add(listener);
    return { close: async () => void this.watchers.delete(listener) };
  }

  /** Closes every registration (their nodes leave) and drops the watchers. */
  async close(): Promise<void> {
    await Promise.all([...this.registrations].map((r) => r.close()));
    this.watchers.clear();
  }

  /** Removes the nodes whose lease deadline has passed. */
  expire(): void {
    const now = this.now();
    for (const [nodeId, node] of this.nodes) {
      if (node.lease.deadline <= now) {
        this.nodes.delete(nodeId);
        this.emit({ type: "leave", nodeId });
      }
    }
  }

  put(info: NodeInfo, lease: Lease): void {
    this.nodes.set(info.nodeId, { info, lease });
    this.emit({ type: "join", nodeId: info.nodeId, node: info });
  }

  /** Removes the node only while it is still under `lease` (a newer registration of the same id stays). */
  revoke(nodeId: string, lease: Lease): void {
    if (this.nodes.get(nodeId)?.lease !== lease) return;
    this.nodes.delete(nodeId);
    this.emit({ type: "leave", nodeId });
  }

  forget(registration: MemoryRegistration): void {
    this.registrations.delete(registration);
  }

  private emit(event: NodeEvent): void {
    // Delivered asynchronously, as etcd watch events are, so a listener never runs inside a store call.
    for (const listener of this.watchers) {
      queueMicrotask(() => {
        try {
          listener(event);
        } catch {
          // A failing listener must not break membership for the others.
        }
      });
    }
  }
}

interface Lease {
  deadline: number;
}

class MemoryRegistration implements NodeRegistration {
  readonly nodeId: string;
  private lease: Lease;
  private readonly listeners: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly membership: MemoryMembership,
    private readonly info: NodeInfo,
    private readonly ttlMs: number,
  ) {
    this.nodeId = info.nodeId;
    this.lease = { deadline: membership.now() + ttlMs };
    membership.put(info, this.lease);
    this.timer = setInterval(() => this.keepAlive(), Math.max(1, Math.floor(ttlMs / 3)));
    this.timer.unref();
  }

  onReregistered(listener: () => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.membership.revoke(this.nodeId, this.lease);
    this.membership.forget(this);
  }

  private keepAlive(): void {
    this.membership.expire();
    const now = this.membership.now();
    if (this.lease.deadline > now) {
      this.lease.deadline = now + this.ttlMs;
      return;
    }
    this.lease = { deadline: now + this.ttlMs };
    this.membership.put(this.info, this.lease);
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // One failing listener must not stop the others (nor the timer).
      }
    }
  }
}
