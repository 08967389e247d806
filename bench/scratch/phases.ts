import { DatenLordSDK } from "../../sdk/index.js";
import { PeerClient } from "../../sdk/peer-client.js";
import { EtcdMetadataStore } from "../../metadata/etcd-metadata-store.js";
import { loadConfig } from "../../src/config.js";
import { encodeKey } from "../../src/keys.js";
import { startEtcd } from "../../test/helpers/etcd-process.js";
import { startNodeProcess } from "../../test/helpers/node-process.js";
import { MiB, patternBytes, runRound } from "../measure.js";
const size = Number(process.env["SIZE"] ?? MiB);
const etcd = await startEtcd();
const hot = { namespace: "bench", etcd: { endpoints: [etcd.endpoint], rootPrefix: "/p" } };
const node = await startNodeProcess({ configOverrides: { ...hot, nodeId: "n0", memory: { capacityBytes: 1024 * MiB }, disk: { directory: "" } } });
const sdk = new DatenLordSDK({ env: {}, options: hot });
const client = await sdk.connect();
const keys = Array.from({ length: 16 }, (_, i) => `k/${i}`);
for (const [i, k] of keys.entries()) await client.insert(k, patternBytes(i, size));
const config = loadConfig({ overrides: hot, env: {} });
const md = await EtcdMetadataStore.connect({ config: config.etcd });
const peer = new PeerClient({ nodeId: node.nodeId, address: node.address, timeoutMs: 5000, limits: config.limits });
const entries = await Promise.all(keys.map((k) => md.longestPrefix("bench", encodeKey(k, 1e6))));
const rate = (r: { ops: number; seconds: number }) => (r.ops / r.seconds).toFixed(0).padStart(5);
for (const conc of [1, 8, 1, 8]) {
  const lp = await runRound(200, conc, async (i) => ((await md.longestPrefix("bench", encodeKey(keys[i % 16]!, 1e6))), 0));
  const g = await runRound(200, conc, async (i) => (await peer.get(entries[i % 16]!.descriptor.blockId))!.data.length);
  const t = await runRound(200, conc, async (i) => (await client.tryLoad(keys[i % 16]!))!.data.length);
  const both = await runRound(200, conc, async (i) => { const e = await md.longestPrefix("bench", encodeKey(keys[i % 16]!, 1e6)); return (await peer.get(e!.descriptor.blockId))!.data.length; });
  console.log(`conc ${conc}: longestPrefix ${rate(lp)}/s  peer.get ${rate(g)}/s  tryLoad ${rate(t)}/s  lp+get ${rate(both)}/s`);
}
await peer.close(); await md.close(); await sdk.close(); await node.stop(); await etcd.stop();
