import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import type { TestProject } from "vitest/node";
import { startEtcd, isHealthy } from "./helpers/etcd-process.js";
import { ensureDebianPackage, ensureEtcdInstalled } from "./helpers/install-etcd.js";
import type { TestS3 } from "./helpers/env.js";
import { makeTestS3Client } from "./helpers/s3-client.js";
import { startS3rver } from "./helpers/s3rver-process.js";
import { waitFor } from "./helpers/wait-for.js";

type Teardown = () => Promise<void>;

/**
 * Gives every test file one real etcd and one real S3 endpoint: the ones named
 * by ETCD_ENDPOINTS / S3_ENDPOINT when set (docker-compose, CI services), else
 * processes started here and stopped at the end. Tests isolate their data with
 * uniqueName() prefixes, so sharing the servers is safe.
 */
export default async function setup(project: TestProject): Promise<Teardown> {
  // The project supports Node 20; the SDK's "will require node 22 from 2027" notice is noise in every run.
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
  const teardowns: Teardown[] = [];
  const teardown: Teardown = async () => {
    await Promise.all(teardowns.map((t) => t()));
  };
  // allSettled, not all: when one server fails, the other must have finished
  // starting (and registered its teardown) before we tear down.
  const [etcd, s3] = await Promise.allSettled([provideEtcd(teardowns), provideS3(teardowns)]);
  if (etcd.status === "rejected" || s3.status === "rejected") {
    await teardown();
    throw etcd.status === "rejected" ? etcd.reason : (s3 as PromiseRejectedResult).reason;
  }
  project.provide("etcdEndpoints", etcd.value);
  project.provide("s3", s3.value);
  return teardown;
}

async function provideEtcd(teardowns: Teardown[]): Promise<string[]> {
  const external = listEnv("ETCD_ENDPOINTS");
  if (external.length > 0) {
    const anyHealthy = async (): Promise<boolean> => (await Promise.all(external.map((e) => isHealthy(e).catch(() => false)))).some(Boolean);
    await waitFor(anyHealthy, {
      what: `etcd at ETCD_ENDPOINTS=${external.join(",")} to report healthy`,
      timeoutMs: 15_000,
    });
    return external;
  }
  await ensureEtcdInstalled();
  await ensureDebianPackage("/usr/bin/chromium", "chromium");
  await ensureDebianPackage("/usr/bin/openssl", "openssl");
  const etcd = await startEtcd({ name: "test-etcd" });
  teardowns.push(() => etcd.stop());
  return [etcd.endpoint];
}

async function provideS3(teardowns: Teardown[]): Promise<TestS3> {
  const env = process.env;
  const endpoint = env["S3_ENDPOINT"];
  const bucket = env["S3_BUCKET"] || "datenlord-test";
  const region = env["S3_REGION"] || "us-east-1";
  if (endpoint === undefined || endpoint === "") {
    const server = await startS3rver({ bucket });
    teardowns.push(() => server.stop());
    return { endpoint: server.endpoint, bucket, region, accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  }
  const s3: TestS3 = {
    endpoint, bucket, region,
    accessKeyId: env["S3_ACCESS_KEY_ID"] || env["AWS_ACCESS_KEY_ID"] || "",
    secretAccessKey: env["S3_SECRET_ACCESS_KEY"] || env["AWS_SECRET_ACCESS_KEY"] || "",
  };
  await ensureBucket(s3);
  return s3;
}

async function ensureBucket(s3: TestS3): Promise<void> {
  const client = makeTestS3Client(s3);
  try {
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== 404) throw new Error(`S3 at S3_ENDPOINT=${s3.endpoint}: cannot reach bucket ${s3.bucket}: ${(err as Error).message}`, { cause: err });
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
  } finally {
    client.destroy();
  }
}

function listEnv(name: string): string[] {
  return (process.env[name] ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}
