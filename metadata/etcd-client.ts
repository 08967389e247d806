import { Etcd3, type IOptions } from "etcd3";
import { readFileSync } from "node:fs";
import type { EtcdConfig } from "../src/config.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";

type Policy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

/** The cancellation signal a policy hands each call: etcd3 never reads it, so one that never fires serves them all. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * Runs each call once. etcd3's defaults (three immediate retries, and a circuit
 * breaker that shuts a host out for 5 s after three failures) fight the
 * store's own retry loop: during a leader election every member answers "no
 * leader" for a moment, which would open the breaker on all of them and fail
 * every request for 5 s. EtcdRequests retries with backoff within the deadline.
 */
const passThrough: Policy = {
  _altReturn: undefined as never,
  onSuccess: () => ({ dispose: () => undefined }),
  onFailure: () => ({ dispose: () => undefined }),
  execute: async (fn) => fn({ signal: NEVER_ABORTED }),
};

/**
 * Builds the etcd3 client for `config`: every endpoint (calls go to a random
 * healthy one), password auth when a username is set, TLS from files when any
 * is set, and a per-call deadline of requestTimeoutMs on unary calls (watch
 * and keep-alive streams are long-lived and have none). Does no I/O beyond
 * reading the TLS files; throws ERR_CONFIG_INVALID when they cannot be read.
 */
export function createEtcdClient(config: EtcdConfig): Etcd3 {
  const timeoutMs = config.requestTimeoutMs;
  const options: IOptions = {
    hosts: [...config.endpoints],
    // etcd3 1.1.2 accepts but does not apply dialTimeout; the per-call deadline below is what bounds a connect.
    dialTimeout: timeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeoutMs }),
    faultHandling: { host: () => passThrough, global: passThrough },
    grpcOptions: {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      // Notice a peer that vanished without closing its sockets (no RST), within etcd's ping policy (>= 5 s).
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      // gRPC's default reconnect backoff grows to 120 s: after an etcd outage the client would stay away
      // long after etcd is back. Capped, it notices the return within a few seconds.
      "grpc.initial_reconnect_backoff_ms": 250,
      "grpc.max_reconnect_backoff_ms": 2_000,
    },
  };
  if (config.username !== "") options.auth = { username: config.username, password: config.password };
  const credentials = tlsCredentials(config.tls);
  if (credentials !== undefined) options.credentials = credentials;
  try {
    return new Etcd3(options);
  } catch (err) {
    throw new KvCacheError(ErrorCode.CONFIG_INVALID, `cannot configure the etcd client: ${(err as Error).message}`, { cause: err, details: { key: "etcd.endpoints" } });
  }
}

function tlsCredentials(tls: EtcdConfig["tls"]): IOptions["credentials"] {
  if (tls.caFile === "" && tls.certFile === "" && tls.keyFile === "") return undefined;
  return {
    // gRPC uses the system's root certificates when this is null.
    rootCertificate: (tls.caFile === "" ? null : readTlsFile(tls.caFile, "etcd.tls.caFile")) as Buffer,
    ...(tls.keyFile === "" ? {} : { privateKey: readTlsFile(tls.keyFile, "etcd.tls.keyFile") }),
    ...(tls.certFile === "" ? {} : { certChain: readTlsFile(tls.certFile, "etcd.tls.certFile") }),
  };
}

function readTlsFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KvCacheError(ErrorCode.CONFIG_INVALID, `cannot read ${key} ${file}: ${(err as Error).message}`, { cause: err, details: { key, file } });
  }
}
