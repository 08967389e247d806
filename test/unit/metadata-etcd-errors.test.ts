import { ClientClosedError, EtcdPermissionDeniedError, GRPCDeadlineExceededError, GRPCInternalError, GRPCInvalidArgumentError, GRPCUnavailableError } from "etcd3";
import { describe, expect, it } from "vitest";
import { mapEtcdError } from "../../metadata/etcd-errors.js";
import { ErrorCode, KvCacheError } from "../../src/errors.js";

const context = { op: "range", endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379"] };

describe("mapEtcdError", () => {
  it("maps by class and gRPC status code, keeping the cause", () => {
    const cases: [unknown, ErrorCode, boolean][] = [
      [new GRPCUnavailableError("14 UNAVAILABLE: etcdserver: no leader"), ErrorCode.ETCD_UNAVAILABLE, true],
      [Object.assign(new Error("14 UNAVAILABLE: No connection established"), { code: 14 }), ErrorCode.ETCD_UNAVAILABLE, true],
      [Object.assign(new Error("circuit open"), { isBrokenCircuitError: true }), ErrorCode.ETCD_UNAVAILABLE, true],
      [new GRPCDeadlineExceededError("4 DEADLINE_EXCEEDED"), ErrorCode.TIMEOUT, true],
      [new ClientClosedError("KV"), ErrorCode.CLOSED, false],
      [new GRPCInternalError("13 INTERNAL: stream reset"), ErrorCode.ETCD, true],
      [new EtcdPermissionDeniedError("etcdserver: permission denied"), ErrorCode.ETCD, false],
      [new GRPCInvalidArgumentError("3 INVALID_ARGUMENT: etcdserver: request is too large"), ErrorCode.ETCD, false],
    ];
    for (const [err, code, retryable] of cases) {
      const mapped = mapEtcdError(err, context);
      expect(mapped, String(err)).toMatchObject({ code, retryable, details: { op: "range" } });
      expect(mapped.cause).toBe(err);
    }
  });

  it("names the endpoints when etcd is unreachable, and passes KvCacheErrors through", () => {
    expect(mapEtcdError(new GRPCUnavailableError("down"), context).message).toContain("http://10.0.0.1:2379,http://10.0.0.2:2379");
    const own = new KvCacheError(ErrorCode.ETCD, "malformed");
    expect(mapEtcdError(own, context)).toBe(own);
  });
});
