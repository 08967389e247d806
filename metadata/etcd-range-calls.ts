import { EtcdInvalidAuthTokenError, type Etcd3, type IRangeRequest, type IRangeResponse } from "etcd3";
import { decodeRangeResponse, decodeRangeTxnResponse, encodeRangeRequest, encodeRangeTxn } from "./etcd-range-codec.js";

/** gRPC call options (the deadline), typed through etcd3 rather than a direct @grpc/grpc-js import. */
export type CallOptions = NonNullable<Parameters<Etcd3["kv"]["range"]>[1]>;

type Callback<R> = (err: Error | null, value?: R) => void;

/** The one method of a gRPC client these calls use (@grpc/grpc-js Client.makeUnaryRequest). */
interface UnaryClient {
  makeUnaryRequest<Q, R>(method: string, serialize: (q: Q) => Buffer, deserialize: (b: Buffer) => R, argument: Q, metadata: unknown, options: CallOptions, callback: Callback<R>): unknown;
}

/**
 * etcd3's connection pool (etcd3 1.1.2, `Etcd3.pool`, not in its typings): it
 * picks a host, attaches the auth token and maps gRPC errors to etcd3's.
 */
interface ConnectionPool {
  withConnection<T>(service: string, fn: (connection: { client: UnaryClient; metadata: unknown }) => Promise<T>): Promise<T>;
}

/**
 * Range reads with etcd-range-codec.ts's encoding, sent over etcd3's own
 * connections (same hosts, TLS, auth token and error types as `client.kv`).
 * A client without the pool this relies on is read through `client.kv`; so is
 * a call refused for a stale auth token, which etcd3 renews and retries.
 */
export class EtcdRangeCalls {
  readonly #pool: ConnectionPool | undefined;

  constructor(private readonly client: Etcd3) {
    const pool = (client as unknown as { pool?: Partial<ConnectionPool> }).pool;
    this.#pool = typeof pool?.withConnection === "function" ? (pool as ConnectionPool) : undefined;
  }

  range(request: IRangeRequest, call: CallOptions): Promise<IRangeResponse> {
    return this.#unary("Range", encodeRangeRequest, decodeRangeResponse, request, call, () => this.client.kv.range(request, call));
  }

  /** The ranges in one read-only transaction (one read index on the server), answered in order. */
  ranges(requests: readonly IRangeRequest[], call: CallOptions): Promise<IRangeResponse[]> {
    const viaEtcd3 = async (): Promise<IRangeResponse[]> => {
      const response = await this.client.kv.txn({ success: requests.map((request) => ({ request_range: request })) }, call);
      return response.responses.map((op, i) => op.response_range ?? missing(i));
    };
    return this.#unary("Txn", encodeRangeTxn, decodeRangeTxnResponse, requests, call, viaEtcd3);
  }

  async #unary<Q, R>(method: string, serialize: (q: Q) => Buffer, deserialize: (b: Buffer) => R, argument: Q, call: CallOptions, viaEtcd3: () => Promise<R>): Promise<R> {
    if (this.#pool === undefined) return viaEtcd3();
    try {
      return await this.#pool.withConnection("KV", ({ client, metadata }) => new Promise<R>((resolve, reject) => {
        client.makeUnaryRequest(`/etcdserverpb.KV/${method}`, serialize, deserialize, argument, metadata, call, (err, value) => (err ? reject(err) : resolve(value as R)));
      }));
    } catch (err) {
      if (err instanceof EtcdInvalidAuthTokenError) return viaEtcd3();
      throw err;
    }
  }
}

function missing(index: number): never {
  throw new TypeError(`etcd answered operation ${index} of a transaction of ranges with something else`);
}
