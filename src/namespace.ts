/**
 * What a namespace may be. Namespaces are chosen by users (model id, weights
 * revision, tenant) and travel in every block tag, so every entry point (the
 * config loader, the node's PUT) applies this one rule. Nothing ever builds a
 * path from a namespace (disk files are named by block id, S3 keys percent-
 * encode it), but a namespace that looks like a path is refused anyway, so
 * that no later code can be tricked by one: no control characters, no
 * backslash, and no empty, "." or ".." segment between slashes.
 */
export const MAX_NAMESPACE_BYTES = 256;

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

/** Why `value` is not a valid namespace, or undefined when it is one. */
export function namespaceProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0) return "must be a non-empty string";
  if (!value.isWellFormed()) return "must be well-formed UTF-16 (no lone surrogates)";
  if (Buffer.byteLength(value) > MAX_NAMESPACE_BYTES) return `must be at most ${MAX_NAMESPACE_BYTES} UTF-8 bytes`;
  if (FORBIDDEN.test(value)) return "must not hold control characters or '\\'";
  if (value.split("/").some((s) => s === "" || s === "." || s === "..")) return "must not have an empty, '.' or '..' segment between '/'";
  return undefined;
}

/**
 * Percent-encodes every UTF-8 byte of `text` whose character `safe` does not
 * match (as `%XX`, upper-case hex), so the result holds only safe characters
 * and '%'. The etcd layout keeps '.', the S3 layout does not (no '..' segment).
 */
export function percentEncode(text: string, safe: RegExp): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const ch = String.fromCharCode(byte);
    out += safe.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
