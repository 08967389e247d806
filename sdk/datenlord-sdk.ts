import type { Registry } from "prom-client";
import { loadConfig, type AppConfig, type ConfigOverrides } from "../src/config.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { CacheMetrics } from "../src/metrics.js";
import type { Backend, BackendContext } from "./backend.js";
import { KvCacheClient } from "./client.js";
import { openBackend } from "./open-backend.js";
import { SdkMetrics } from "./sdk-metrics.js";

/** Opens the deployment a client talks to; the default picks cluster or embedded mode from the config. */
export type BackendFactory = (config: AppConfig, context: BackendContext) => Promise<Backend>;

/** SDK-level options; any other key is configuration (a ConfigOverrides object). */
interface SdkOnlyOptions {
  /** JSON config file, validated against the schema (unknown keys rejected). */
  readonly configPath?: string;
  /** Configuration applied over the file and the environment. */
  readonly options?: ConfigOverrides;
  /** Environment to read DATENLORD_* from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Registry the SDK's metrics go on (default: a private one, see `sdk.registry`). */
  readonly registry?: Registry;
  /** Metrics to report into (share one between SDK instances on one registry). */
  readonly metrics?: CacheMetrics;
  /** Replaces how the backend is opened (tests inject fakes here). */
  readonly openBackend?: BackendFactory;
  /** Clock for descriptors' createdAt, ms since the epoch. */
  readonly now?: () => number;
}

export type DatenLordSDKOptions = SdkOnlyOptions & ConfigOverrides;

const SDK_KEYS = new Set(["configPath", "options", "env", "registry", "metrics", "openBackend", "now"]);

/**
 * Entry point of the library. The configuration is loaded and validated in the
 * constructor (ERR_CONFIG_INVALID names every bad key); `connect()` opens the
 * cluster (etcd endpoints configured) or the embedded cache (none) once, and
 * every client it returns shares it. `close()` closes the clients, then the
 * backend; it is idempotent.
 */
export class DatenLordSDK implements AsyncDisposable {
  readonly config: AppConfig;
  readonly metrics: SdkMetrics;
  readonly #openBackend: BackendFactory;
  readonly #now: () => number;
  readonly #clients = new Set<KvCacheClient>();
  #opening: Promise<Backend> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: DatenLordSDKOptions = {}) {
    const { sdk, overrides } = splitOptions(options);
    this.config = loadConfig({ file: sdk.configPath, overrides, env: sdk.env });
    this.metrics = new SdkMetrics(sdk.metrics ?? new CacheMetrics(sdk.registry));
    this.#openBackend = sdk.openBackend ?? openBackend;
    this.#now = sdk.now ?? Date.now;
  }

  /** The registry every SDK metric is on (scrape it with `registry.metrics()`). */
  get registry(): Registry {
    return this.metrics.cache.registry;
  }

  /** A client. Cluster mode with etcd unreachable rejects ERR_ETCD_UNAVAILABLE; a later call tries again. */
  async connect(): Promise<KvCacheClient> {
    this.#assertOpen();
    const backend = await this.#backend();
    this.#assertOpen();
    const client = new KvCacheClient({
      backend, config: this.config, metrics: this.metrics, now: this.#now,
      onClosed: (c) => this.#clients.delete(c),
    });
    this.#clients.add(client);
    return client;
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #backend(): Promise<Backend> {
    if (this.#opening === undefined) {
      const opening = this.#openBackend(this.config, { metrics: this.metrics.cache, onError: (err) => this.#backgroundError(err) });
      this.#opening = opening;
      // A failed open is forgotten so that the next connect() tries again.
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
    }
    return this.#opening;
  }

  /** A backend's background failure, told to every client as a "degraded" event. */
  #backgroundError(error: unknown): void {
    for (const client of this.#clients) client.reportDegraded("background", error);
  }

  async #shutdown(): Promise<void> {
    await Promise.all([...this.#clients].map((c) => c.close()));
    const backend = await this.#opening?.catch(() => undefined);
    await backend?.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new KvCacheError(ErrorCode.CLOSED, "the SDK is closed");
  }
}

function splitOptions(options: DatenLordSDKOptions): { sdk: SdkOnlyOptions; overrides: ConfigOverrides | undefined } {
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, "DatenLordSDK options must be an object");
  }
  const sdk: Record<string, unknown> = {};
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) (SDK_KEYS.has(key) ? sdk : config)[key] = value;
  const nested = (sdk as SdkOnlyOptions).options;
  if (nested !== undefined && Object.keys(config).length > 0) {
    throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, `pass configuration either as top-level keys or under "options", not both (top-level: ${Object.keys(config).join(", ")})`);
  }
  const overrides = nested ?? (Object.keys(config).length > 0 ? (config as ConfigOverrides) : undefined);
  return { sdk: sdk as SdkOnlyOptions, overrides };
}
