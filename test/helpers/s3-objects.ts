import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import type { S3Config } from "../../src/config.js";
import { testS3Connection, type TestS3 } from "./env.js";

/** An S3 tier config on the shared test server, under its own key prefix. */
export function testS3Config(s3: TestS3, prefix: string, extra: Partial<S3Config> = {}): S3Config {
  return {
    ...testS3Connection(s3),
    prefix,
    maxConcurrency: 8,
    multipartThresholdBytes: 5 * 1024 * 1024,
    requestTimeoutMs: 30_000,
    ...extra,
  };
}

/** Every object key under `prefix` in `bucket`, sorted. */
export async function listKeys(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys.sort();
}

/** Deletes every object under `prefix` (test cleanup). */
export async function deletePrefix(client: S3Client, bucket: string, prefix: string): Promise<void> {
  const keys = await listKeys(client, bucket, prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }));
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
  }
}

/** Flips one bit in the middle of an object's body, keeping its metadata (the stored checksum). */
export async function flipObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(await got.Body!.transformToByteArray());
  body[body.length >> 1] = body[body.length >> 1]! ^ 0x01;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: got.Metadata }));
}
