import { randomBytes } from "node:crypto";
import { inject } from "vitest";
import type { ConfigOverrides } from "../../src/config.js";

/** The S3 endpoint every test shares (s3rver started by global setup, or S3_ENDPOINT). */
export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    etcdEndpoints: string[];
    s3: TestS3;
  }
}

/** Client endpoints of the etcd every test shares (started by global setup, or ETCD_ENDPOINTS). */
export function testEtcdEndpoints(): string[] {
  return inject("etcdEndpoints");
}

export function testS3(): TestS3 {
  return inject("s3");
}

/**
 * `<prefix>-<10 hex chars>`, lowercase [a-z0-9-] only: valid as an etcd root
 * prefix segment, an S3 key prefix, a namespace and a bucket name. Tests share
 * one etcd and one bucket, so each isolates its data under such a name.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "t";
  return `${clean}-${randomBytes(5).toString("hex")}`;
}

/**
 * Config overrides pointing at the shared test servers, with a fresh etcd root
 * prefix and S3 key prefix so nothing collides with another test; `extra` is
 * merged over them (nested objects key by key).
 */
export function testConfigOverrides(extra: ConfigOverrides = {}): ConfigOverrides {
  const s3 = testS3();
  const base: ConfigOverrides = {
    etcd: { endpoints: testEtcdEndpoints(), rootPrefix: `/${uniqueName("test")}` },
    s3: { ...testS3Connection(s3), prefix: uniqueName("test") },
  };
  return mergeDeep(base, extra);
}

/** How to reach the shared test S3 server (path-style, its credentials): the part every S3 config of a test shares. */
export function testS3Connection(s3: TestS3) {
  return { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true };
}

function mergeDeep<T extends object>(base: T, extra: object): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(extra)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeDeep(prev, value) : value;
  }
  return out as T;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v);
}
