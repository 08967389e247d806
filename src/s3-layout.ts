/**
 * Where an S3 tier keeps its blocks: objects `<prefix>/<namespace encoded>/<block id>`
 * in `bucket` (storage/s3-keys.ts). Nodes advertise it in membership so that
 * clients with S3 credentials can read cold blocks themselves; it names no
 * endpoint and no credentials.
 */
export interface S3Layout {
  readonly bucket: string;
  readonly prefix: string;
  readonly namespace: string;
}
