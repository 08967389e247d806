import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type _Error as DeleteError,
  type ListObjectsV2CommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { readBody } from "./s3-body.js";
import { isNotFound } from "./s3-errors.js";
import type { EncodedObject } from "./s3-object-format.js";

/** Parts of one multipart upload in flight at once (each holds `partSize` bytes). */
const UPLOAD_QUEUE_SIZE = 4;

/** An object as read back: its user metadata and its whole body. */
export interface FetchedObject {
  readonly metadata: Record<string, string> | undefined;
  readonly body: Uint8Array;
}

/**
 * The raw S3 exchanges of the S3 tier on one bucket, one request each (an
 * Upload: several). Each takes the signal that bounds it; failures are thrown
 * as the SDK raised them, for the tier to map. Response bodies are always read
 * to the end or destroyed (see {@link readBody}).
 */
export class S3Objects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    /** Bodies at least this large upload as multipart, in parts of this size. */
    readonly partSize: number,
  ) {}

  /** The object, or `undefined` when there is no such key. */
  async get(key: string, signal: AbortSignal): Promise<FetchedObject | undefined> {
    let response;
    try {
      response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return { metadata: response.Metadata, body: await readBody(response.Body, response.ContentLength, signal) };
  }

  async exists(key: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** PutObject, or a multipart Upload for bodies of `partSize` or more. Atomic either way. */
  async put(key: string, object: EncodedObject, signal: AbortSignal): Promise<void> {
    if (object.body.length >= this.partSize) return this.#upload(key, object, signal);
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: object.body, ContentLength: object.body.length, Metadata: object.metadata });
    await this.client.send(command, { abortSignal: signal });
  }

  /** S3 answers 204 for a missing key too: idempotent. */
  async delete(key: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
  }

  /** DeleteObjects (at most 1000 keys); resolves with the keys S3 refused to delete. */
  async deleteBatch(keys: readonly string[], signal: AbortSignal): Promise<DeleteError[]> {
    const command = new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
    const response = await this.client.send(command, { abortSignal: signal });
    return response.Errors ?? [];
  }

  /** One ListObjectsV2 page of at most `maxKeys` keys (S3 caps it at 1000). */
  listPage(prefix: string, token: string | undefined, maxKeys: number, signal: AbortSignal): Promise<ListObjectsV2CommandOutput> {
    const command = new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: maxKeys });
    return this.client.send(command, { abortSignal: signal });
  }

  /**
   * Multipart upload through lib-storage. Upload takes no signal, only its own
   * controller, so ours is forwarded; on failure or abort it aborts the
   * multipart upload (leavePartsOnError: false) so no parts linger.
   */
  async #upload(key: string, object: EncodedObject, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const controller = new AbortController();
    const forward = (): void => controller.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: key, Body: object.body, Metadata: object.metadata },
        partSize: this.partSize,
        queueSize: UPLOAD_QUEUE_SIZE,
        leavePartsOnError: false,
        abortController: controller,
      });
      await upload.done();
    } finally {
      signal.removeEventListener("abort", forward);
    }
  }
}
