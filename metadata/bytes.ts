/**
 * Byte-string helpers for keys compared the way etcd compares them: unsigned,
 * lexicographic, a proper prefix sorting before its extensions.
 */

/** Negative, zero or positive as `a` sorts before, equal to or after `b`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** True when `prefix` is a prefix of `bytes` (equal included). */
export function isPrefixOf(prefix: Uint8Array, bytes: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== bytes[i]) return false;
  return true;
}

/** Length of the longest common prefix of `a` and `b`. */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** The smallest byte string greater than every string that starts with `prefix` (etcd's "range_end" of a prefix). */
export function prefixEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xFF: no finite upper bound; etcd reads "\0" as "to the end of the key space".
  return Buffer.from([0]);
}

/** The smallest byte string greater than `bytes`: `bytes` followed by 0x00 (turns an inclusive bound into etcd's exclusive one). */
export function successor(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length + 1);
  out.set(bytes, 0);
  return out;
}
