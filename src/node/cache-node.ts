import { hostname } from "node:os";
import { BufferPool } from "../buffer-pool.js";
import type { AppConfig } from "../config.js";
import { ErrorCode, KvCacheError } from "../errors.js";
import { directoryHugePages } from "../huge-pages.js";
import { NodeMetrics } from "../metrics.js";
import { wireLimits } from "../wire/protocol.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { LocationTracker } from "../../metadata/location-tracker.js";
import type { MetadataStore, NodeRegistration } from "../../metadata/metadata-store.js";
import { AdminEndpoints } from "./admin-endpoints.js";
import { json, text } from "./admin-server.js";
import { ConnectionMetrics } from "./connection-metrics.js";
import { NodeDashboard } from "./dashboard/node-dashboard.js";
import { DataServer } from "./data-server.js";
import { jsonLogger, type Logger } from "./logger.js";
import { nodeSecurity, type NodeSecurity } from "./node-security.js";
import { localTiers, openNodeStorage, type NodeStorage } from "./node-storage.js";
import { nodeRequestHandler } from "./request-handler.js";
import type { RequestHandler } from "./server-connection.js";
import { Sweeper, type SweepReport } from "./sweeper.js";
import { persistMemory, readvertise } from "./warm-restart.js";
import { WriteThrough } from "./write-through.js";
import type { DiskFs } from "../../storage/disk-fs.js";

export interface CacheNodeOptions {
  readonly config: AppConfig;
  /** Registry of every metric the node reports (and /metrics serves); a private one by default. */
  readonly metrics?: NodeMetrics;
  /** Structured logger; JSON lines on stderr by default. */
  readonly logger?: Logger;
  /** Metadata store to use instead of connecting to `config.etcd`; the caller keeps ownership. */
  readonly metadata?: MetadataStore;
  /** How long close() lets requests in flight finish (default 10 000 ms). */
  readonly drainTimeoutMs?: number;
  /** File-system calls of the disk tier (tests inject faults through it); node:fs by default. */
  readonly diskFs?: DiskFs;
}

const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Most bytes of idle buffers the node keeps for reuse (PUT bodies, GET replies of the shared memory tier). */
const POOLED_BYTES = 64 * 1024 * 1024;

/**
 * A cache node: the data server (src/wire protocol) over memory, disk and S3
 * tiers, an admin HTTP server, membership under an etcd lease, metadata kept
 * true through a LocationTracker, a periodic sweep, and a graceful close().
 */
export class CacheNode {
  readonly config: AppConfig;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  private readonly dashboard: NodeDashboard;
  private nodeIdValue = "";
  private addressValue = "";
  private data: DataServer | undefined;
  private admin: AdminEndpoints | undefined;
  private readonly security: NodeSecurity;
  private metadata: MetadataStore | undefined;
  private tracker: LocationTracker | undefined;
  private storage: NodeStorage | undefined;
  private writeThrough: WriteThrough | undefined;
  private registration: NodeRegistration | undefined;
  private sweeper: Sweeper | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepReport> | undefined;
  private handler: RequestHandler | undefined;
  /** Buffers block bytes pass through on their way into and out of a shared memory tier. */
  private readonly pool = new BufferPool(POOLED_BYTES);
  /** Set once storage is open, when PUT bodies can be received in pooled buffers (see recycle in the request handler). */
  private recyclesBodies = false;
  private readonly stopping = new AbortController();
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: CacheNodeOptions) {
    this.config = options.config;
    this.metrics = options.metrics ?? new NodeMetrics();
    this.logger = options.logger ?? jsonLogger();
    this.security = nodeSecurity(this.config);
    this.dashboard = new NodeDashboard({
      metrics: this.metrics,
      logger: this.logger,
      self: () => ({ nodeId: this.nodeId, address: this.address, adminAddress: this.metricsAddress, ready: this.ready }),
    });
  }

  /** Starts every part, re-advertises blocks left on disk, registers, and resolves once ready. */
  static async start(options: CacheNodeOptions): Promise<CacheNode> {
    const node = new CacheNode(options);
    try {
      await node.init();
    } catch (err) {
      await node.close();
      throw err;
    }
    return node;
  }

  /** This node's id in membership and descriptors. */
  get nodeId(): string {
    return this.nodeIdValue;
  }

  /** host:port of the data protocol as other processes reach it (NodeInfo.address). */
  get address(): string {
    return this.addressValue;
  }

  /** host:port of the admin HTTP server as bound. */
  get adminAddress(): string {
    return this.admin?.admin.address ?? "";
  }

  /** host:port of /metrics and /dashboard: the admin address unless node.metricsHost binds them apart. */
  get metricsAddress(): string {
    return this.admin?.metricsAddress ?? "";
  }

  /** True once registered and until close() begins. */
  get ready(): boolean {
    return this.registration !== undefined && this.closing === undefined;
  }

  /** One sweep now (see {@link Sweeper}); joins a sweep already running. */
  sweepOnce(): Promise<SweepReport> {
    if (this.sweeper === undefined || this.closing !== undefined) return Promise.reject(new KvCacheError(ErrorCode.CLOSED, "cache node is not running"));
    this.sweeping ??= this.sweeper.sweepOnce(this.stopping.signal).finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /**
   * Graceful shutdown: stops accepting, drains requests in flight (bounded by
   * drainTimeoutMs), leaves membership at once (revokes the lease), then closes
   * write-through, tiers, metadata and the admin server. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async init(): Promise<void> {
    await this.listenData();
    this.metadata = this.options.metadata ?? (await this.connectMetadata());
    this.tracker = new LocationTracker({
      store: this.metadata,
      nodeId: this.nodeId,
      onError: (err, ctx) => this.logger.warn("metadata update failed", { ...ctx, err }),
      holdsLocally: (id) => this.holdsLocally(id),
    });
    await this.openStorage();
    await this.listenAdmin();
    await readvertise(localTiers(this.storage!), this.tracker, this.logger);
    await this.register();
    await this.dashboard.start(this.metadata);
    this.startSweeps();
    this.logger.info("cache node ready", { nodeId: this.nodeId, address: this.address, adminAddress: this.adminAddress });
  }

  private async listenData(): Promise<void> {
    const { node } = this.config;
    const handler: RequestHandler = (frame) => {
      if (this.handler === undefined) return Promise.reject(new KvCacheError(ErrorCode.NODE, "node is starting"));
      return this.handler(frame);
    };
    this.data = await DataServer.listen({
      host: node.host, port: node.port, limits: wireLimits(this.config.limits), handler, logger: this.logger,
      verifier: this.security.verifier, tls: this.security.dataTls, metrics: new ConnectionMetrics(this.metrics.registry),
      headerTimeoutMs: node.headerTimeoutMs, idleTimeoutMs: node.idleTimeoutMs, maxConnections: node.maxConnections,
      bodyBuffer: (length) => (this.recyclesBodies && length <= this.config.memory.capacityBytes ? this.pool.take(length) : undefined),
    });
    const { port } = this.data.boundAddress;
    const wildcard = node.host === "0.0.0.0" || node.host === "::" || node.host === "";
    const host = wildcard ? hostname() : node.host.includes(":") ? `[${node.host}]` : node.host;
    this.nodeIdValue = this.config.nodeId !== "" ? this.config.nodeId : `${hostname()}-${port}`;
    this.addressValue = node.advertiseAddress !== "" ? node.advertiseAddress : `${host}:${port}`;
  }

  private connectMetadata(): Promise<MetadataStore> {
    if (this.config.etcd.endpoints.length === 0) {
      throw new KvCacheError(ErrorCode.CONFIG_INVALID, "a cache node needs etcd.endpoints: membership and metadata live in etcd", { details: { keys: ["etcd.endpoints"] } });
    }
    return EtcdMetadataStore.connect({ config: this.config.etcd, metrics: this.metrics });
  }

  private async openStorage(): Promise<void> {
    const tracker = this.tracker!;
    this.storage = await openNodeStorage({
      config: this.config,
      metrics: this.metrics,
      onMove: (move) => {
        this.dashboard.recordMove(move);
        void tracker.onMove(move);
      },
      onError: (err) => this.logger.warn("tier background failure", { err }),
      onWarning: (message, fields) => this.logger.warn(message, fields),
      pool: this.pool,
      diskFs: this.options.diskFs,
    });
    const { s3 } = this.storage;
    if (this.config.cluster.writeThrough && s3 !== undefined) {
      this.writeThrough = new WriteThrough({ s3, tracker, concurrency: this.config.s3.maxConcurrency, logger: this.logger, metrics: this.metrics });
    }
    const writeThrough = this.writeThrough;
    // The shared tier copies a PUT's bytes into its file and keeps no reference to them; write-through still uploads them.
    this.recyclesBodies = this.storage.shared !== undefined && writeThrough === undefined;
    this.logger.info("memory tier", this.storage.shared === undefined ? { shared: false } : await sharedTierFields(this.storage.shared.file.path, this.config.memory.sharedDirectory));
    this.handler = nodeRequestHandler({
      nodeId: this.nodeId,
      store: this.storage.store,
      shared: this.storage.shared,
      ...(this.recyclesBodies ? { recycle: (data: Buffer) => this.pool.give(data), reservations: this.storage.store } : {}),
      maxBlockBytes: this.config.limits.maxBlockBytes,
      tierStats: () => this.storage!.store.tierStats(),
      afterPut: writeThrough === undefined ? undefined : (frame, block) => writeThrough.schedule(frame.blockId, block),
      metrics: this.metrics,
    });
  }

  private async holdsLocally(id: string): Promise<boolean> {
    return this.storage === undefined ? false : this.storage.store.holdsLocally(id);
  }

  private async listenAdmin(): Promise<void> {
    this.admin = await AdminEndpoints.open({
      config: this.config.node,
      tls: this.security.adminTls,
      logger: this.logger,
      health: {
        "/healthz": () => (this.closing === undefined ? text(200, "ok\n") : text(503, "closing\n")),
        "/readyz": () => json(this.ready ? 200 : 503, { ready: this.ready, nodeId: this.nodeId, address: this.address }),
      },
      metrics: async () => ({ status: 200, contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
      mount: (server) => this.dashboard.mount(server),
    });
  }

  private async register(): Promise<void> {
    // Membership's adminAddress is where other nodes' dashboards find this one's metrics.
    const { s3 } = this.config;
    const info = {
      nodeId: this.nodeId, address: this.address, adminAddress: this.metricsAddress, startedAt: Date.now(),
      ...(this.security.adminTls === undefined ? {} : { adminTls: true }),
      ...(this.storage!.shared === undefined ? {} : { sharedMemory: this.storage!.shared.file }),
      ...(this.storage!.s3 === undefined ? {} : { s3: { bucket: s3.bucket, prefix: s3.prefix, namespace: this.config.namespace } }),
    };
    this.registration = await this.metadata!.registerNode(info, this.config.etcd.leaseTtlSeconds);
    // A lost lease may have let sweeps drop this node as a holder: advertise again.
    this.registration.onReregistered(() => {
      this.logger.warn("membership lease was lost; registered again", { nodeId: this.nodeId });
      void readvertise(localTiers(this.storage!), this.tracker!, this.logger).catch((err: unknown) => this.logger.warn("re-advertise failed", { err }));
    });
  }

  private startSweeps(): void {
    const { cluster, namespace } = this.config;
    this.sweeper = new Sweeper({
      store: this.metadata!, s3: this.storage!.s3, namespace, graceMs: cluster.sweepGraceMs, logger: this.logger,
      self: { nodeId: this.nodeId, holds: (id) => this.holdsLocally(id) },
    });
    this.sweepTimer = setInterval(() => {
      this.sweepOnce().catch((err: unknown) => this.logger.warn("sweep failed", { err }));
    }, cluster.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  private async shutdown(): Promise<void> {
    this.logger.info("cache node closing", { nodeId: this.nodeId });
    clearInterval(this.sweepTimer);
    this.stopping.abort(new KvCacheError(ErrorCode.CLOSED, "cache node is closing"));
    await this.data?.close(this.options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    await this.step("dashboard", () => this.dashboard.close());
    await this.step("leave membership", () => this.registration?.close());
    await this.sweeping?.catch(() => undefined);
    const { storage, tracker } = this;
    await this.step("persist memory", () => (storage === undefined || tracker === undefined ? undefined : persistMemory(storage.memory, storage.disk, tracker, this.logger)));
    await this.step("write-through", () => this.writeThrough?.close());
    await this.step("tiers", () => this.storage?.store.close());
    await this.step("metadata updates", () => this.tracker?.idle());
    if (this.options.metadata === undefined) await this.step("metadata store", () => this.metadata?.close());
    await this.step("admin server", () => this.admin?.close());
    this.logger.info("cache node closed", { nodeId: this.nodeId });
  }

  /** One shutdown step; a failure is logged and the rest still run. */
  private async step(name: string, fn: () => Promise<unknown> | undefined): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.logger.warn(`closing ${name} failed`, { err });
    }
  }
}

/** The "memory tier" log line's fields for a shared tier: where its file is, and whether it gets huge pages (README, "Huge pages for the shared memory file"). */
async function sharedTierFields(file: string, directory: string): Promise<Record<string, unknown>> {
  const hugePages = await directoryHugePages(directory);
  const hint = hugePages === "no" ? { hint: "a tmpfs mounted with huge=within_size as memory.sharedDirectory makes same-host reads cheaper" } : {};
  return { shared: true, file, hugePages, ...hint };
}
