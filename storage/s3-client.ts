import { S3Client } from "@aws-sdk/client-s3";
import type { S3Config } from "../src/config.js";

/**
 * The S3 client the tier makes when none is injected: endpoint and static
 * credentials from config, path-style addressing (MinIO, s3rver).
 *
 * Checksums are computed and validated only when an operation requires them:
 * with the SDK's default (`WHEN_SUPPORTED`) a streamed PUT body is sent with
 * aws-chunked trailing checksums, which S3-compatible servers such as s3rver
 * store as corrupted bytes without an error. The tier verifies its own CRC-32
 * on every read instead.
 */
export function makeS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(config.endpoint === "" ? {} : { endpoint: config.endpoint }),
    ...(config.accessKeyId === "" ? {} : { credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } }),
  });
}
