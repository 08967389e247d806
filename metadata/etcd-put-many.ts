/**
 * putMany for etcd: many writes in as few transactions as etcd allows.
 *
 * Items are cut into batches of at most 128 operations (etcd's default
 * --max-txn-ops) and about 1 MiB of keys and values (under its 1.5 MiB
 * --max-request-bytes); a key repeated in the input starts a new batch, so
 * writes to one key apply in input order (etcd refuses a transaction that
 * writes a key twice).
 *
 * A transaction cannot make each put conditional on its own key, only all of
 * them on all compares. So a batch is one optimistic transaction: compare
 * create_revision == 0 for every if-absent key; on success every put applies;
 * on failure nothing applies and the failure branch reads every if-absent key
 * at that same revision. Keys found there resolve as not inserted (the existing
 * entry wins, exactly as insertIfAbsent would have answered at that revision);
 * the rest of the batch is retried. Each failed round resolves at least one
 * key, so a batch takes at most as many rounds as it has if-absent keys, and
 * usually one (all new) or two (some existed).
 */
import type { IKeyValue, IRequestOp } from "etcd3";
import { ErrorCode, KvCacheError } from "../src/errors.js";
import type { EncodedKey } from "../src/keys.js";
import type { EtcdRequests } from "./etcd-requests.js";
import type { BlockDescriptor, MetadataEntry } from "./metadata-store.js";
import { sameDescriptor } from "./value-codec.js";

export const MAX_TXN_OPS = 128;
const MAX_TXN_BYTES = 1024 * 1024;

export interface PlannedPut {
  readonly index: number;
  readonly key: EncodedKey;
  readonly etcdKey: Buffer;
  readonly descriptor: BlockDescriptor;
  readonly value: Buffer;
  readonly ifAbsent: boolean;
}

export type PutResult = { inserted: boolean; entry: MetadataEntry };

/** Decodes a stored key-value into an entry of `key`. */
export type EntryOf = (key: EncodedKey, kv: IKeyValue) => MetadataEntry;

export async function putManyInEtcd(requests: EtcdRequests, items: readonly PlannedPut[], entryOf: EntryOf, signal?: AbortSignal): Promise<PutResult[]> {
  const results: PutResult[] = new Array<PutResult>(items.length);
  // Sequential: a later batch may repeat a key of an earlier one and must apply after it.
  for (const batch of planBatches(items)) await writeBatch(requests, batch, results, entryOf, signal);
  return results;
}

function planBatches(items: readonly PlannedPut[]): PlannedPut[][] {
  const batches: PlannedPut[][] = [];
  let batch: PlannedPut[] = [];
  let bytes = 0;
  let keys = new Set<string>();
  for (const item of items) {
    const cost = item.etcdKey.length * (item.ifAbsent ? 3 : 1) + item.value.length + 64;
    const id = item.etcdKey.toString("latin1");
    if (batch.length > 0 && (batch.length >= MAX_TXN_OPS || bytes + cost > MAX_TXN_BYTES || keys.has(id))) {
      batches.push(batch);
      [batch, bytes, keys] = [[], 0, new Set<string>()];
    }
    batch.push(item);
    bytes += cost;
    keys.add(id);
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

async function writeBatch(requests: EtcdRequests, batch: readonly PlannedPut[], results: PutResult[], entryOf: EntryOf, signal?: AbortSignal): Promise<void> {
  let pending = batch;
  while (pending.length > 0) {
    const checked = pending.filter((item) => item.ifAbsent);
    let retried = false;
    const response = await requests.txn(
      {
        compare: checked.map((item) => ({ key: item.etcdKey, target: "Create" as const, result: "Equal" as const, create_revision: 0 })),
        success: pending.map((item): IRequestOp => ({ request_put: { key: item.etcdKey, value: item.value } })),
        failure: checked.map((item): IRequestOp => ({ request_range: { key: item.etcdKey } })),
      },
      signal,
      (attempt) => (retried ||= attempt > 0),
    );
    if (response.succeeded) {
      for (const item of pending) {
        results[item.index] = { inserted: true, entry: { key: copyKey(item.key), descriptor: item.descriptor, revision: response.header.revision } };
      }
      return;
    }
    const resolved = resolveExisting(checked, response.responses.map((r) => r.response_range?.kvs[0]), results, entryOf, retried);
    if (resolved.size === 0) throw new KvCacheError(ErrorCode.ETCD, "etcd transaction failed its compares but reported no existing key", { retryable: true });
    pending = pending.filter((item) => !resolved.has(item));
  }
}

/** Records not-inserted results for the if-absent items found existing; returns them. */
function resolveExisting(
  checked: readonly PlannedPut[],
  found: readonly (IKeyValue | undefined)[],
  results: PutResult[],
  entryOf: EntryOf,
  retried: boolean,
): Set<PlannedPut> {
  const resolved = new Set<PlannedPut>();
  checked.forEach((item, i) => {
    const kv = found[i];
    if (kv === undefined) return;
    const entry = entryOf(item.key, kv);
    // After a retried attempt, the existing entry may be our own write from the attempt that seemed to fail.
    results[item.index] = { inserted: retried && sameDescriptor(entry.descriptor, item.descriptor), entry };
    resolved.add(item);
  });
  return resolved;
}

export function copyKey(key: EncodedKey): EncodedKey {
  return { kind: key.kind, bytes: Buffer.from(key.bytes) };
}
