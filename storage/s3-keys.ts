import { assertBlockId, isBlockId, type BlockId } from "../src/block.js";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import { percentEncode } from "../src/namespace.js";

/**
 * Object key layout of the S3 tier: `<prefix>/<namespace-encoded>/<blockId>`.
 *
 * The namespace is user-controlled (model id, tenant…), so it is percent-encoded
 * byte by byte, keeping only [A-Za-z0-9_-]. The encoding is injective (distinct
 * namespaces never share a directory) and its output holds no '/' and no '.', so
 * it can never form a '..' segment or climb out of the prefix.
 */
export class S3KeyLayout {
  /** `<prefix>/<namespace-encoded>/`: every object of the namespace starts with it. */
  readonly namespacePrefix: string;

  constructor(prefix: string, namespace: string) {
    // Lone surrogates would all encode as U+FFFD, making two namespaces share objects.
    if (typeof namespace !== "string" || namespace.length === 0 || !namespace.isWellFormed()) {
      throw new KvCacheError(ErrorCode.INVALID_ARGUMENT, "S3 tier namespace must be a non-empty, well-formed string");
    }
    const base = prefix.replace(/^\/+|\/+$/g, "");
    this.namespacePrefix = `${base === "" ? "" : `${base}/`}${encodeNamespace(namespace)}/`;
  }

  /** The object key of `id`; throws ERR_INVALID_ARGUMENT for a malformed id. */
  keyOf(id: BlockId): string {
    assertBlockId(id);
    return this.namespacePrefix + id;
  }

  /** The block id named by an object key of this namespace, or undefined for a foreign key. */
  idOf(key: string): BlockId | undefined {
    if (!key.startsWith(this.namespacePrefix)) return undefined;
    const rest = key.slice(this.namespacePrefix.length);
    return isBlockId(rest) ? rest : undefined;
  }
}

const SAFE_BYTE = /^[A-Za-z0-9_-]$/;

/** Percent-encodes every UTF-8 byte outside [A-Za-z0-9_-] (so '.', '/', '%' included). */
export function encodeNamespace(namespace: string): string {
  return percentEncode(namespace, SAFE_BYTE);
}
