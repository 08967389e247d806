import convict from "convict";
import { readFileSync } from "node:fs";
import { configSchema } from "./config-schema.js";
import { ErrorCode, KvCacheError } from "./errors.js";
import { namespaceProblem } from "./namespace.js";

/** The validated, frozen configuration. Each component takes only its own slice. */
export interface AppConfig {
  readonly namespace: string;
  readonly nodeId: string;
  readonly etcd: EtcdConfig;
  readonly s3: S3Config;
  readonly memory: { readonly capacityBytes: number; readonly sharedDirectory: string };
  readonly disk: { readonly directory: string; readonly capacityBytes: number };
  readonly limits: LimitsConfig;
  readonly node: NodeConfig;
  readonly cluster: ClusterConfig;
  readonly sdk: { readonly strict: boolean; readonly concurrency: number; readonly directS3Reads: boolean; readonly sharedMemory: boolean; readonly locationHintBytes: number };
  readonly auth: AuthConfig;
  readonly tls: DataTlsConfig;
}
export interface AuthConfig {
  /** The cluster shared secret; "" turns authentication off. */
  readonly secret: string;
}
/** TLS of the data path (node server and SDK client). */
export interface DataTlsConfig {
  readonly enabled: boolean;
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly serverName: string;
}
export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly rootPrefix: string;
  readonly username: string;
  readonly password: string;
  readonly tls: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  readonly leaseTtlSeconds: number;
  readonly requestTimeoutMs: number;
}
export interface S3Config {
  readonly endpoint: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly forcePathStyle: boolean;
  readonly maxConcurrency: number;
  readonly multipartThresholdBytes: number;
  readonly requestTimeoutMs: number;
}
export interface LimitsConfig {
  readonly maxKeyBytes: number;
  readonly maxBlockBytes: number;
}
export interface NodeConfig {
  readonly host: string;
  readonly port: number;
  readonly advertiseAddress: string;
  readonly adminHost: string;
  readonly adminPort: number;
  readonly adminTls: { readonly certFile: string; readonly keyFile: string };
  readonly metricsHost: string;
  readonly metricsPort: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
}
export interface ClusterConfig {
  readonly replicas: number;
  readonly requestTimeoutMs: number;
  readonly writeThrough: boolean;
  readonly sweepIntervalMs: number;
  readonly sweepGraceMs: number;
}

/** A partial configuration, as a plain options object (nested, every key optional). */
export type ConfigOverrides = DeepPartial<AppConfig>;
type DeepPartial<T> = { -readonly [K in keyof T]?: T[K] extends readonly (infer U)[] ? readonly U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface LoadConfigOptions {
  /** Path of a JSON config file. */
  readonly file?: string;
  /** Values applied over the file (and over the environment). */
  readonly overrides?: ConfigOverrides;
  /** Environment to read DATENLORD_* variables from; the default is process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

let formatsAdded = false;

/**
 * Loads, validates and freezes the configuration: schema defaults, then the
 * environment, then the file, then `overrides`. Unknown keys and bad values
 * throw ERR_CONFIG_INVALID naming every offending key and the reason.
 */
export function loadConfig(options: LoadConfigOptions = {}): AppConfig {
  addFormats();
  // convict treats an empty env object as "use process.env": pass a sentinel-free copy.
  const env = { ...(options.env ?? process.env) };
  const conf = convict(configSchema as unknown as convict.Schema<AppConfig>, { env, args: [] });
  try {
    if (options.file !== undefined) conf.load(readConfigFile(options.file));
    if (options.overrides !== undefined) conf.load(options.overrides);
    conf.validate({ allowed: "strict" });
  } catch (err) {
    if (err instanceof KvCacheError) throw err;
    throw configError(err, options.file);
  }
  return deepFreeze(conf.getProperties() as AppConfig);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new KvCacheError(ErrorCode.CONFIG_INVALID, `cannot read config file ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("top level must be a JSON object");
    return value;
  } catch (err) {
    throw new KvCacheError(ErrorCode.CONFIG_INVALID, `config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err, details: { file } });
  }
}

function configError(err: unknown, file: string | undefined): KvCacheError {
  const text = err instanceof Error ? err.message : String(err);
  // convict reports one problem per line, each starting with the key's path.
  const problems = text.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  const keys = problems.map((p) => /^(?:configuration param )?'?([\w.]+)'?/.exec(p)?.[1]).filter((k): k is string => k !== undefined);
  const where = file === undefined ? "configuration" : `config file ${file}`;
  return new KvCacheError(ErrorCode.CONFIG_INVALID, `invalid ${where}: ${problems.join("; ")}`, { cause: err, details: { keys, file } });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The configuration as JSON with every sensitive value replaced by "[redacted]": safe to log. */
export function redactedConfig(config: AppConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, Record<string, unknown>>;
  for (const [section, key] of SENSITIVE_KEYS) {
    const part = copy[section];
    if (part !== undefined && part[key] !== "") part[key] = "[redacted]";
  }
  return copy;
}

const SENSITIVE_KEYS: readonly (readonly [string, string])[] = [
  ["auth", "secret"],
  ["etcd", "password"],
  ["s3", "accessKeyId"],
  ["s3", "secretAccessKey"],
];

function addFormats(): void {
  if (formatsAdded) return;
  formatsAdded = true;
  convict.addFormats({
    positiveInt: { validate: (v: unknown) => assert(Number.isSafeInteger(v) && (v as number) > 0, "must be a positive integer"), coerce: Number },
    namespace: {
      validate: (v: unknown) => {
        const problem = namespaceProblem(v);
        if (problem !== undefined) throw new Error(problem);
      },
    },
    secret: {
      validate: (v: unknown) => assert(typeof v === "string" && (v === "" || (Buffer.byteLength(v) >= 16 && Buffer.byteLength(v) <= 1024)), "must be empty (authentication off) or 16 to 1024 bytes"),
    },
    endpoints: {
      validate: (v: unknown) => assert(Array.isArray(v) && v.every((e) => typeof e === "string" && /^https?:\/\/[^/\s]+\/?$/.test(e)), "must be a list of http(s)://host:port URLs"),
      coerce: (v: unknown) => (typeof v === "string" ? v.split(",").map((s) => s.trim()).filter((s) => s.length > 0) : v),
    },
    etcdPrefix: { validate: (v: unknown) => assert(typeof v === "string" && /^\/[\x21-\x7e]*[^/]$/.test(v), "must start with '/', not end with '/', and hold printable ASCII only") },
    url: { validate: (v: unknown) => assert(v === "" || (typeof v === "string" && URL.canParse(v) && /^https?:/.test(v)), "must be empty or an http(s) URL") },
    bucket: { validate: (v: unknown) => assert(typeof v === "string" && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v), "must be a valid S3 bucket name") },
    s3Prefix: { validate: (v: unknown) => assert(typeof v === "string" && /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(v) && !v.split("/").some((p) => p === "." || p === ".."), "must be path segments of [A-Za-z0-9._-], no '.' or '..'") },
    partSize: { validate: (v: unknown) => assert(Number.isSafeInteger(v) && (v as number) >= 5 * 1024 * 1024, "must be an integer of at least 5 MiB (5242880)"), coerce: Number },
    maxKeyBytes: { validate: (v: unknown) => assert(Number.isSafeInteger(v) && (v as number) >= 4 && (v as number) <= 384 * 1024, "must be an integer from 4 to 393216 (384 KiB)"), coerce: Number },
  });
}

function assert(ok: boolean, reason: string): void {
  if (!ok) throw new Error(reason);
}
