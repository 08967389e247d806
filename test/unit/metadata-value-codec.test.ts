import { describe, expect, it } from "vitest";
import { decodeDescriptor, decodeNodeInfo, encodeDescriptor, encodeNodeInfo, normalizeDescriptor } from "../../metadata/value-codec.js";
import { dashboardUrl } from "../../src/node/dashboard/summary.js";
import { newBlockId } from "../../src/block.js";
import { ErrorCode } from "../../src/errors.js";

const good = { blockId: newBlockId(), size: 10, checksum: 0xffffffff, holders: ["b", "a", "b"], s3: true, createdAt: 5 };

describe("descriptor and node values", () => {
  it("round-trips a descriptor, sorting and de-duplicating holders and dropping unknown fields", () => {
    const decoded = decodeDescriptor(encodeDescriptor({ ...good, extra: 1 } as typeof good), "k");
    expect(decoded).toEqual({ ...good, holders: ["a", "b"] });
    expect(Object.isFrozen(decoded) && Object.isFrozen(decoded.holders)).toBe(true);
  });

  it("rejects a malformed descriptor to be written with ERR_INVALID_ARGUMENT naming the field", () => {
    expect(() => normalizeDescriptor({ ...good, checksum: 2 ** 32 })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT, message: expect.stringContaining("checksum") }));
    expect(() => normalizeDescriptor({ ...good, holders: [""] })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
    expect(() => normalizeDescriptor(null)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_ARGUMENT }));
  });

  it("reports a malformed stored value as non-retryable ERR_ETCD naming the key", () => {
    for (const raw of ["", "{", "[]", "null", JSON.stringify({ ...good, size: -1 }), JSON.stringify({ ...good, s3: "yes" })]) {
      expect(() => decodeDescriptor(Buffer.from(raw), "/root/ns/a/s/k")).toThrow(expect.objectContaining({ code: ErrorCode.ETCD, retryable: false, message: expect.stringContaining("/root/ns/a/s/k") }));
    }
    // The key's name may be given lazily: it is worked out only for a malformed value.
    let named = 0;
    const where = (): string => (named++, "/root/ns/a/s/lazy");
    expect(decodeDescriptor(encodeDescriptor(good), where).size).toBe(10);
    expect(named).toBe(0);
    expect(() => decodeDescriptor(Buffer.from("{"), where)).toThrow(expect.objectContaining({ code: ErrorCode.ETCD, details: { key: "/root/ns/a/s/lazy" } }));
    expect(named).toBe(1);
    expect(() => decodeNodeInfo(Buffer.from(JSON.stringify({ nodeId: "n", address: 1 })), "/root/nodes/n")).toThrow(expect.objectContaining({ code: ErrorCode.ETCD }));
  });

  it("round-trips node info with its optional S3 layout and admin TLS flag, and rejects malformed ones", () => {
    const base = { nodeId: "n1", address: "10.0.0.1:7000", adminAddress: "0.0.0.0:9100", startedAt: 1 };
    const full = { ...base, adminTls: true, s3: { bucket: "b", prefix: "blocks", namespace: "model-a" } };
    expect(decodeNodeInfo(encodeNodeInfo(full), "k")).toEqual(full);
    expect(decodeNodeInfo(encodeNodeInfo(base), "k")).toEqual(base);
    expect(dashboardUrl(decodeNodeInfo(encodeNodeInfo(full), "k"))).toBe("https://10.0.0.1:9100/dashboard");
    expect(dashboardUrl(base)).toBe("http://10.0.0.1:9100/dashboard");
    for (const bad of [{ ...base, adminTls: "yes" }, { ...base, s3: { bucket: "", prefix: "p", namespace: "n" } }, { ...base, s3: { bucket: "b", prefix: 1, namespace: "n" } }, { ...base, s3: [] }]) {
      expect(() => decodeNodeInfo(Buffer.from(JSON.stringify(bad)), "/root/nodes/n1")).toThrow(expect.objectContaining({ code: ErrorCode.ETCD }));
    }
  });
});
