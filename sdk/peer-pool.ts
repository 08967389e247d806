import { ErrorCode, KvCacheError } from "../src/errors.js";
import { PeerConnection, type ConnectOptions } from "./peer-connection.js";

interface Waiter {
  resolve(conn: PeerConnection): void;
  reject(err: unknown): void;
  readonly signal: AbortSignal;
}

export interface PeerPoolOptions extends ConnectOptions {
  readonly maxConnections: number;
}

/**
 * Up to `maxConnections` persistent sockets to one node, opened lazily; a
 * request takes an idle one, opens a new one under the cap, or queues (FIFO).
 * A connection goes back to the pool only after a complete response.
 */
export class PeerPool {
  private readonly idle: PeerConnection[] = [];
  private readonly waiters: Waiter[] = [];
  /** Open connections, idle or busy. */
  private readonly live = new Set<PeerConnection>();
  /** Open and opening connections: what the cap counts. */
  private size = 0;
  private closedWith: KvCacheError | undefined;

  constructor(private readonly options: PeerPoolOptions) {}

  /** Whether a connection is open and set up (past the HELLO, when the cluster has a secret). */
  get connected(): boolean {
    return this.live.size > 0 && this.closedWith === undefined;
  }

  /** A connection for one request; rejects with the signal's reason if it fires while waiting. */
  acquire(signal: AbortSignal): Promise<PeerConnection> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    if (signal.aborted) return Promise.reject(signal.reason);
    const conn = this.takeIdle();
    if (conn !== undefined) return Promise.resolve(conn);
    if (this.size < this.options.maxConnections) return this.connect(signal);
    return this.enqueue(signal);
  }

  /** Returns a connection after a complete exchange; a dead one is just forgotten. */
  release(conn: PeerConnection): void {
    if (!conn.alive) return;
    if (this.closedWith !== undefined) {
      conn.destroy(this.closedWith);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.idle.push(conn);
    else waiter.resolve(conn);
  }

  /** Destroys every connection and rejects every waiter with `reason`. */
  close(reason: KvCacheError): void {
    this.closedWith ??= reason;
    for (const w of this.waiters.splice(0)) w.reject(reason);
    this.idle.length = 0;
    for (const c of [...this.live]) c.destroy(reason);
  }

  private takeIdle(): PeerConnection | undefined {
    let conn = this.idle.pop();
    while (conn !== undefined && !conn.alive) conn = this.idle.pop();
    return conn;
  }

  private async connect(signal: AbortSignal): Promise<PeerConnection> {
    this.size++;
    let conn: PeerConnection;
    try {
      conn = await PeerConnection.open(this.options, (c) => this.forget(c), signal);
    } catch (err) {
      this.size--;
      this.wakeWaiter();
      throw err;
    }
    this.live.add(conn);
    if (this.closedWith !== undefined) {
      conn.destroy(this.closedWith);
      throw this.closedWith;
    }
    return conn;
  }

  private forget(conn: PeerConnection): void {
    this.size--;
    this.live.delete(conn);
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    this.wakeWaiter();
  }

  /** A slot freed up: the oldest waiter opens a connection of its own. */
  private wakeWaiter(): void {
    if (this.closedWith !== undefined || this.size >= this.options.maxConnections) return;
    const waiter = this.waiters.shift();
    if (waiter === undefined) return;
    this.connect(waiter.signal).then(waiter.resolve, waiter.reject);
  }

  private enqueue(signal: AbortSignal): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        signal,
        resolve: (c) => { signal.removeEventListener("abort", onAbort); resolve(c); },
        reject: (e) => { signal.removeEventListener("abort", onAbort); reject(e); },
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}

/** The error a closed pool rejects with. */
export function closedError(nodeId: string): KvCacheError {
  return new KvCacheError(ErrorCode.CLOSED, `peer client for node ${nodeId} is closed`, { details: { nodeId } });
}
