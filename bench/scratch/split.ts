import { DatenLordSDK } from "../../sdk/index.js";
import { startEtcd } from "../../test/helpers/etcd-process.js";
import { startNodeProcess } from "../../test/helpers/node-process.js";
import { MiB, patternBytes, runRound, gbPerSecond } from "../measure.js";
const size = Number(process.env["SIZE"] ?? MiB);
const etcd = await startEtcd();
const hot = { namespace: "bench", etcd: { endpoints: [etcd.endpoint], rootPrefix: "/p" } };
const node = await startNodeProcess({ configOverrides: { ...hot, nodeId: "n0", memory: { capacityBytes: 1024 * MiB }, disk: { directory: "" } } });
const sdk = new DatenLordSDK({ env: {}, options: hot });
const client = await sdk.connect();
const keys = Array.from({ length: 16 }, (_, i) => `k/${i}`);
for (const [i, k] of keys.entries()) await client.insert(k, patternBytes(i, size));
for (const conc of [1, 8]) for (let r = 0; r < 2; r++) {
  const m = await runRound(400, conc, async (i) => ((await client.matchPrefix(keys[i % keys.length]!)), 0));
  const l = await runRound(200, conc, async (i) => (await client.tryLoad(keys[i % keys.length]!))!.data.length);
  console.log(`conc ${conc}: matchPrefix ${(m.ops / m.seconds).toFixed(0)} ops/s; tryLoad ${(l.ops / l.seconds).toFixed(0)} ops/s ${gbPerSecond(l).toFixed(3)} GB/s`);
}
await sdk.close(); await node.stop(); await etcd.stop();
