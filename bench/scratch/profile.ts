import { DatenLordSDK } from "../../sdk/index.js";
import { startEtcd } from "../../test/helpers/etcd-process.js";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";

async function startNode(config: object): Promise<{ stop(): Promise<void> }> {
  writeFileSync("/tmp/prof/node.json", JSON.stringify(config));
  const prof = process.env["NODE_PROF"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["NODE_PROF"]}`] : [];
  const child = spawn(process.execPath, [...prof, "--import", "tsx", "src/node/main.ts", "--config", "/tmp/prof/node.json"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => child.stdout.on("data", (d: Buffer) => { if (d.toString().includes("ready")) resolve(); }));
  await new Promise((r) => setTimeout(r, 500));
  return { stop: () => new Promise((resolve) => { child.once("exit", () => resolve()); child.kill("SIGTERM"); }) };
}
import { MiB, patternBytes, runRound, gbPerSecond } from "../measure.js";

const size = Number(process.env["SIZE"] ?? MiB);
const mode = process.env["MODE"] ?? "load";
const etcd = await startEtcd();
const hot = { namespace: "bench", etcd: { endpoints: [etcd.endpoint], rootPrefix: "/p" } };
const node = await startNode({ ...hot, nodeId: "n0", node: { port: 0, adminPort: 0 }, memory: { capacityBytes: 1024 * MiB }, disk: { directory: "" } });
const sdk = new DatenLordSDK({ env: {}, options: hot });
const client = await sdk.connect();
const keys = Array.from({ length: 16 }, (_, i) => `k/${i}`);
for (const [i, k] of keys.entries()) await client.insert(k, patternBytes(i, size));
let round = 0;
for (let r = 0; r < Number(process.env["ROUNDS"] ?? 5); r++) {
  const res = mode === "load"
    ? await runRound(Math.round(128 * MiB / size), 8, async (i) => (await client.tryLoad(keys[i % keys.length]!))!.data.length)
    : mode === "match"
      ? await runRound(2000, 1, async (i) => ((await client.matchPrefix(keys[i % keys.length]!)), size))
      : await runRound(Math.round(64 * MiB / size), 8, async (i) => ((await client.insert(`ins/${round}/${i}`, patternBytes(i, size))), size));
  round++;
  console.log(mode, (gbPerSecond(res)).toFixed(3), "GB/s", (res.ops / res.seconds).toFixed(0), "ops/s");
}
await sdk.close();
await node.stop();
await etcd.stop();
