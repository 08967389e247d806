import type { Etcd3, IRangeRequest } from "etcd3";
import { describe, expect, it, onTestFinished } from "vitest";
import { createEtcdClient } from "../../metadata/etcd-client.js";
import { mapEtcdError } from "../../metadata/etcd-errors.js";
import { EtcdRangeCalls } from "../../metadata/etcd-range-calls.js";
import { ErrorCode } from "../../src/errors.js";
import { deleteRoot, testEtcdConfig } from "./etcd-metadata-fixture.js";

/**
 * The lookup path's own range calls against a real etcd: every answer equals
 * what etcd3's `kv` API answers for the same request, alone and in one transaction.
 */
async function filledClient(): Promise<{ client: Etcd3; root: string }> {
  const config = testEtcdConfig();
  const client = createEtcdClient(config);
  onTestFinished(async () => {
    client.close();
    await deleteRoot(config);
  });
  for (let i = 0; i < 20; i++) await client.put(`${config.rootPrefix}/k/${String(i).padStart(2, "0")}`).value(`value ${i}`);
  await client.put(`${config.rootPrefix}/k/05`).value("rewritten"); // a key whose mod_revision and version moved on
  return { client, root: config.rootPrefix };
}

function requests(root: string): IRangeRequest[] {
  const key = (s: string): Buffer => Buffer.from(`${root}/${s}`);
  return [
    { key: key("k/"), range_end: key("k/12\0"), limit: 8, sort_order: "Descend", sort_target: "Key" },
    { key: key("k/05") },
    { key: key("k/missing") },
    { key: key("k/"), range_end: key("k0"), keys_only: true },
    { key: key("k/"), range_end: key("k0"), count_only: true },
    { key: key("k/"), range_end: key("k0"), limit: 3, sort_order: "Ascend", sort_target: "Mod" },
  ];
}

const call = (): { deadline: number } => ({ deadline: Date.now() + 5000 });

describe("EtcdRangeCalls on a real etcd", () => {
  it("answers each range, and a transaction of them, exactly as etcd3's kv API does", async () => {
    const { client, root } = await filledClient();
    const calls = new EtcdRangeCalls(client);
    const all = requests(root);
    for (const request of all) expect(await calls.range(request, call())).toEqual(await client.kv.range(request, call()));
    const viaTxn = (await client.kv.txn({ success: all.map((r) => ({ request_range: r })) }, call())).responses.map((op) => op.response_range);
    const ours = await calls.ranges(all, call());
    expect(ours).toEqual(viaTxn);
    expect(ours[0]!.kvs.map((kv) => kv.key.toString().slice(root.length))).toEqual(["/k/12", "/k/11", "/k/10", "/k/09", "/k/08", "/k/07", "/k/06", "/k/05"]);
    expect(ours[1]!.kvs[0]).toMatchObject({ value: Buffer.from("rewritten"), version: "2" });
    expect(ours[4]!.count).toBe("20");
  });

  it("reads through etcd3's kv API when the client has no connection pool to borrow", async () => {
    const { client, root } = await filledClient();
    const bare = new EtcdRangeCalls({ kv: client.kv } as Etcd3);
    const [request] = requests(root);
    expect(await bare.range(request!, call())).toEqual(await client.kv.range(request!, call()));
    expect((await bare.ranges([request!, request!], call())).map((r) => r.kvs.length)).toEqual([8, 8]);
  });

  it("fails as etcd3 would: a closed client maps to ERR_CLOSED, a passed deadline to ERR_TIMEOUT", async () => {
    const { client, root } = await filledClient();
    const calls = new EtcdRangeCalls(client);
    const [request] = requests(root);
    const late = await calls.range(request!, { deadline: Date.now() - 1 }).catch((err: unknown) => err);
    expect(mapEtcdError(late, { op: "range", endpoints: [] }).code).toBe(ErrorCode.TIMEOUT);
    client.close();
    const closed = await calls.ranges([request!], call()).catch((err: unknown) => err);
    expect(mapEtcdError(closed, { op: "range", endpoints: [] }).code).toBe(ErrorCode.CLOSED);
  });
});
