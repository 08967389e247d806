/**
 * The etcd key layout: every key this system writes, under the configured root
 * prefix (`etcd.rootPrefix`, e.g. `/datenlord/kvcache`). This module is the only
 * place that builds or parses them.
 *
 * ```
 * <root>/ns/<namespace>/s/<key bytes>   string key → block descriptor (JSON)
 * <root>/ns/<namespace>/t/<key bytes>   token key  → block descriptor (JSON)
 * <root>/nodes/<node id>                live node  → NodeInfo (JSON), attached to the node's lease
 * ```
 *
 * - `<namespace>` and `<node id>` are percent-encoded: every UTF-8 byte outside
 *   `[A-Za-z0-9._-]` becomes `%XX` (upper-case hex, `%` itself included). The
 *   encoding never contains `/`, so one namespace's key space is never a prefix
 *   of another's (`…/ns/a/` vs `…/ns/ab/`), and it is reversible.
 * - `<key bytes>` are the encoded key, raw (0x00 and 0xFF included): UTF-8 for
 *   string keys, 4 bytes big-endian per token for token keys. etcd compares keys
 *   as unsigned bytes, so within one `…/s/` or `…/t/` space its order on the full
 *   key is byte order on the key part: longest-prefix lookups are range scans
 *   over that space alone, and string keys never match token keys.
 */
import type { EncodedKey, KeyKind } from "../src/keys.js";
import { percentEncode } from "../src/namespace.js";
import { prefixEnd } from "./bytes.js";

/** A contiguous etcd key range `[start, end)`. */
export interface KeyRange {
  readonly start: Buffer;
  readonly end: Buffer;
}

const KIND_SEGMENT: Readonly<Record<KeyKind, string>> = { str: "s", tok: "t" };
const UNRESERVED = /^[A-Za-z0-9._-]$/;

/** Percent-encodes a namespace or node id (see the module comment). */
export function escapeName(name: string): string {
  return percentEncode(name, UNRESERVED);
}

/** Reverses {@link escapeName}; `undefined` for text escapeName could not have produced. */
export function unescapeName(escaped: string): string | undefined {
  if (!/^(?:[A-Za-z0-9._-]|%[0-9A-F]{2})+$/.test(escaped)) return undefined;
  const bytes = Buffer.from(escaped.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), "latin1");
  const name = bytes.toString("utf8");
  return escapeName(name) === escaped ? name : undefined;
}

/** Builds and parses the etcd keys of one deployment (one root prefix). */
export class KeyLayout {
  readonly root: string;
  private readonly nsRoot: Buffer;
  private readonly nodesRoot: Buffer;

  /** `rootPrefix` starts with "/" and does not end with "/" (the config schema enforces it). */
  constructor(rootPrefix: string) {
    this.root = rootPrefix;
    this.nsRoot = Buffer.from(`${rootPrefix}/ns/`, "utf8");
    this.nodesRoot = Buffer.from(`${rootPrefix}/nodes/`, "utf8");
  }

  /** `<root>/ns/<namespace>/<s|t>/`: every key of that namespace and kind starts with it. */
  kindPrefix(namespace: string, kind: KeyKind): Buffer {
    return Buffer.from(`${this.nsRoot.toString("utf8")}${escapeName(namespace)}/${KIND_SEGMENT[kind]}/`, "utf8");
  }

  /** The etcd key of `key` in `namespace`. */
  entryKey(namespace: string, key: EncodedKey): Buffer {
    return Buffer.concat([this.kindPrefix(namespace, key.kind), key.bytes]);
  }

  /** Every entry key of one namespace and kind. */
  kindRange(namespace: string, kind: KeyKind): KeyRange {
    const start = this.kindPrefix(namespace, kind);
    return { start, end: prefixEnd(start) };
  }

  /** Every entry key of every namespace (not the membership keys). */
  entriesRange(): KeyRange {
    return { start: this.nsRoot, end: prefixEnd(this.nsRoot) };
  }

  /** Parses an entry key back; `undefined` when `etcdKey` is not one. */
  parseEntryKey(etcdKey: Uint8Array): { namespace: string; key: EncodedKey } | undefined {
    const key = Buffer.from(etcdKey.buffer, etcdKey.byteOffset, etcdKey.length);
    if (!key.subarray(0, this.nsRoot.length).equals(this.nsRoot)) return undefined;
    const slash = key.indexOf(0x2f, this.nsRoot.length);
    if (slash < 0 || key.length < slash + 4 || key[slash + 2] !== 0x2f) return undefined;
    const namespace = unescapeName(key.subarray(this.nsRoot.length, slash).toString("latin1"));
    const kind = kindOfSegment(key[slash + 1]!);
    const bytes = Buffer.from(key.subarray(slash + 3));
    if (namespace === undefined || kind === undefined || (kind === "tok" && bytes.length % 4 !== 0)) return undefined;
    return { namespace, key: { kind, bytes } };
  }

  /** `<root>/nodes/<node id>`. */
  nodeKey(nodeId: string): Buffer {
    return Buffer.concat([this.nodesRoot, Buffer.from(escapeName(nodeId), "utf8")]);
  }

  /** Every membership key. */
  nodesRange(): KeyRange {
    return { start: this.nodesRoot, end: prefixEnd(this.nodesRoot) };
  }

  /** The node id of a membership key; `undefined` when `etcdKey` is not one. */
  parseNodeKey(etcdKey: Uint8Array): string | undefined {
    const key = Buffer.from(etcdKey.buffer, etcdKey.byteOffset, etcdKey.length);
    if (!key.subarray(0, this.nodesRoot.length).equals(this.nodesRoot)) return undefined;
    return unescapeName(key.subarray(this.nodesRoot.length).toString("latin1"));
  }
}

function kindOfSegment(byte: number): KeyKind | undefined {
  if (byte === 0x73) return "str"; // "s"
  if (byte === 0x74) return "tok"; // "t"
  return undefined;
}
