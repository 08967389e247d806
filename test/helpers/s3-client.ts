import { S3Client } from "@aws-sdk/client-s3";
import type { TestS3 } from "./env.js";

/**
 * An S3 client for tests to inspect or seed the shared bucket directly.
 * Checksums only "when required" because s3rver (and older MinIO) reject the
 * SDK's default CRC32 trailers on streamed bodies.
 */
export function makeTestS3Client(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
