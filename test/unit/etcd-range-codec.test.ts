import { loadSync } from "@grpc/proto-loader";
import fc from "fast-check";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { decodeRangeResponse, decodeRangeTxnResponse, encodeRangeRequest, encodeRangeTxn } from "../../metadata/etcd-range-codec.js";
import { ProtobufWireError, ProtoReader, ProtoWriter } from "../../metadata/protobuf-wire.js";

/**
 * The oracle: etcd3's own codec, built the way etcd3 builds it (connection-pool.js)
 * from the same rpc.proto, so "decodes like etcd3" is checked, not assumed.
 */
const proto = loadSync(createRequire(import.meta.url).resolve("etcd3/proto/rpc.proto"), { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
interface Method {
  requestSerialize(value: unknown): Buffer;
  requestDeserialize(bytes: Buffer): Record<string, unknown>;
  responseSerialize(value: unknown): Buffer;
  responseDeserialize(bytes: Buffer): Record<string, unknown>;
}
const kv = proto["etcdserverpb.KV"] as unknown as { Range: Method; Txn: Method };

const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
// Both the short varints decoded as doubles and the long ones decoded through BigInt.
const int64 = fc.oneof(fc.nat(), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map(String);
/** What callers pass for an int64: a number (our lookups' limit) or a decimal string. */
const int64Input = fc.oneof(int64, fc.maxSafeInteger(), fc.maxSafeNat());
const uint64 = fc.oneof(fc.nat(), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(String);
const header = fc.record({ cluster_id: uint64, member_id: uint64, revision: int64, raft_term: uint64 });
const keyValue = fc.record({ key: bytes, create_revision: int64, mod_revision: int64, version: int64, value: bytes, lease: int64 }, { requiredKeys: [] });
const rangeResponse = fc.record({ header: fc.option(header, { nil: undefined }), kvs: fc.array(keyValue, { maxLength: 6 }), more: fc.boolean(), count: int64 }, { requiredKeys: [] });
const rangeRequest = fc.record({
  key: bytes, range_end: bytes, limit: int64Input, revision: int64Input,
  sort_order: fc.constantFrom("None", "Ascend", "Descend"), sort_target: fc.constantFrom("Key", "Version", "Create", "Mod", "Value"),
  serializable: fc.boolean(), keys_only: fc.boolean(), count_only: fc.boolean(),
  min_mod_revision: int64Input, max_mod_revision: int64Input, min_create_revision: int64Input, max_create_revision: int64Input,
}, { requiredKeys: [] });

describe("etcd range codec", () => {
  it("decodes any RangeResponse exactly as etcd3 does", () => {
    fc.assert(fc.property(rangeResponse, (response) => {
      const wire = kv.Range.responseSerialize(response);
      expect(decodeRangeResponse(wire)).toEqual(kv.Range.responseDeserialize(wire));
    }), { numRuns: 300 });
  });

  it("decodes the ranges of any TxnResponse of ranges exactly as etcd3 does", () => {
    const txn = fc.record({ header, succeeded: fc.boolean(), responses: fc.array(rangeResponse.map((r) => ({ response_range: r })), { maxLength: 5 }) });
    fc.assert(fc.property(txn, (response) => {
      const wire = kv.Txn.responseSerialize(response);
      const expected = (kv.Txn.responseDeserialize(wire)["responses"] as { response_range: unknown }[]).map((op) => op.response_range);
      expect(decodeRangeTxnResponse(wire)).toEqual(expected);
    }), { numRuns: 200 });
  });

  it("encodes any RangeRequest, alone or in a transaction, so that etcd3 reads back what it would have sent", () => {
    fc.assert(fc.property(fc.array(rangeRequest, { minLength: 1, maxLength: 4 }), (requests) => {
      expect(kv.Range.requestDeserialize(encodeRangeRequest(requests[0]!))).toEqual(kv.Range.requestDeserialize(kv.Range.requestSerialize(requests[0]!)));
      const txn = { success: requests.map((r) => ({ request_range: r })) };
      expect(kv.Txn.requestDeserialize(encodeRangeTxn(requests))).toEqual(kv.Txn.requestDeserialize(kv.Txn.requestSerialize(txn)));
    }), { numRuns: 200 });
  });

  it("refuses a transaction answer holding another kind of operation, and an unknown sort order", () => {
    const put = kv.Txn.responseSerialize({ responses: [{ response_put: { header: { revision: "3" } } }] });
    expect(() => decodeRangeTxnResponse(put)).toThrow(/operation 2/);
    expect(() => encodeRangeRequest({ key: Buffer.from("k"), sort_order: "Sideways" as never })).toThrow(/sort_order/);
  });

  it("throws ProtobufWireError on a message cut short or a runaway varint, never reads past the end", () => {
    const wire = kv.Range.responseSerialize({ header: { revision: "9" }, kvs: [{ key: Buffer.from("key"), value: Buffer.from("value"), mod_revision: "7" }], count: "1" });
    let clean = 0;
    for (let cut = 1; cut < wire.length; cut++) {
      try {
        decodeRangeResponse(wire.subarray(0, cut));
        clean++; // a cut at a field boundary is itself a well-formed, shorter message
      } catch (err) {
        expect(err).toBeInstanceOf(ProtobufWireError);
      }
    }
    expect(clean).toBeLessThan(wire.length / 2);
    expect(() => new ProtoReader(Buffer.alloc(11, 0xff)).int64(true)).toThrow(ProtobufWireError);
    expect(() => new ProtoReader(Buffer.from([0x0b])).skip(3)).toThrow(/wire type 3/);
  });

  it("writes the varints it reads, up to 64 bits", () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), (n) => {
      const reader = new ProtoReader(new ProtoWriter().varint(1, n).finish());
      expect(reader.tag()).toBe(1 << 3);
      expect(reader.int64(false)).toBe(String(n));
      expect(reader.done).toBe(true);
    }));
  });
});
