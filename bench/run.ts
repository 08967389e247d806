/**
 * `npm run bench`: starts etcd, s3rver, redis-server, a raw TCP server and
 * three cache nodes, measures every row against its baseline in the same run,
 * prints one table of medians, writes bench/results/latest.json, and stops
 * everything it started. A script, not a test: nothing here asserts speed.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { DatenLordSDK, type ConfigOverrides, type KvCacheClient } from "../sdk/index.js";
import { checksumImplementation } from "../src/checksum.js";
import { nativeStatus } from "../src/native.js";
import { startEtcd, type EtcdProcess } from "../test/helpers/etcd-process.js";
import { hasAllocatorSettings, KEEP_FREED_MEMORY, rerunWithAllocatorSettings } from "./allocator.js";
import { BaselineProcess } from "./baselines.js";
import { benchCold } from "./cold.js";
import { benchEmbedded } from "./embedded.js";
import { BENCH_ETCD, startEnvironment, Stopper, type BenchEnvironment } from "./environment.js";
import { benchHotLoad } from "./hot-load.js";
import { benchInsert } from "./insert.js";
import { benchLlama } from "./llama.js";
import { benchLookup } from "./lookup.js";
import { parsePlan, type BenchPlan } from "./plan.js";
import { referenceRows } from "./reference.js";
import { renderTable, resultDocument, type BenchRow } from "./report.js";

const RESULTS = fileURLToPath(new URL("./results/", import.meta.url));
const log = (line: string): void => console.error(`bench: ${line}`);

async function main(): Promise<void> {
  const plan = parsePlan(process.argv.slice(2));
  const stopper = new Stopper();
  const interrupted = (): void => void stopper.stopAll().finally(() => process.exit(130));
  process.once("SIGINT", interrupted).once("SIGTERM", interrupted);
  const loadBefore = loadavg();
  const started = Date.now();
  let rows: BenchRow[];
  let env: BenchEnvironment;
  try {
    log(`starting servers (load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")})`);
    env = await startEnvironment(stopper, log, plan.sharedMemory);
    rows = await runSections(plan, env);
  } finally {
    await stopper.stopAll();
  }
  rows.push(...referenceRows(rows));
  const context = machine(plan, loadBefore, loadavg(), (Date.now() - started) / 1000, env.hotSharedMemory);
  console.log(renderTable(rows));
  const { sharedMemory: shm } = context;
  console.log(`\n${context.cpu}; ${context.memoryGiB} GiB; load average ${context.loadAverage.before.join(" ")} before, ${context.loadAverage.after.join(" ")} after; ${context.seconds.toFixed(0)} s; hot nodes' memory files in ${shm.directory} (huge pages: ${shm.hugePages}); native fast path: ${context.native}, CRC-32: ${context.checksum}; etcd GOMAXPROCS=${context.etcdGoMaxProcs ?? "default"}`);
  await mkdir(RESULTS, { recursive: true });
  await writeFile(`${RESULTS}latest.json`, JSON.stringify(resultDocument(rows, context), null, 2));
  log(`wrote ${RESULTS}latest.json`);
}

/** Runs the planned sections, with the baselines' clients in a process of their own (bench/baselines.ts). */
async function runSections(plan: BenchPlan, env: BenchEnvironment): Promise<BenchRow[]> {
  const baselines = await BaselineProcess.start({ redisPort: env.redis.port, rawPort: env.raw.port, connections: plan.hot.concurrency });
  try {
    return await measure(plan, env, baselines);
  } finally {
    await baselines.stop();
  }
}

async function measure(plan: BenchPlan, env: BenchEnvironment, baselines: BaselineProcess): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const section = async (name: string, run: () => Promise<BenchRow[]>): Promise<void> => {
    log(`${name}…`);
    rows.push(...(await run()));
  };
  const redis = new Redis({ port: env.redis.port, host: "127.0.0.1" }); // stores the values Redis serves, untimed
  const self = process.pid;
  const cluster = [self, ...env.hotNodes.map((n) => n.pid), env.etcd.pid];
  const pids = { sdk: cluster, redis: [baselines.pid, env.redis.pid], raw: [baselines.pid, env.raw.pid] };
  await using hotSdk = new DatenLordSDK({ env: {}, options: env.hot });
  const hot = await hotSdk.connect();
  await using tcpSdk = new DatenLordSDK({ env: {}, options: { ...env.hot, sdk: { ...env.hot.sdk, sharedMemory: false } } });
  const tcpClient = await tcpSdk.connect();
  try {
    if (plan.sections.has("hot")) await section("hot-tier load", () => benchHotLoad({ client: hot, tcpClient, redis, baselines, pids }, plan.hot));
    if (plan.sections.has("insert")) await section("insert", () => benchInsert({ client: hot, tcpClient, baselines, pids }, plan.insert));
    if (plan.sections.has("lookup")) await section("lookup", () => withOwnEtcds((startEtcd) => benchLookup({ startEtcd }, plan.lookup)));
  } finally {
    redis.disconnect();
  }
  if (plan.sections.has("embedded")) await section("embedded mode", () => benchEmbedded(plan.embedded));
  if (plan.sections.has("cold")) await section("cold path", () => withClient(env.cold, (client) => benchCold({ client, s3: env.s3Config, baselines, pids: { sdk: [process.pid, env.coldNode.pid, env.etcd.pid, env.s3.pid], raw: [baselines.pid, env.s3.pid] } }, plan.cold)));
  if (plan.sections.has("llama")) await section("llama TTFT", () => benchLlama(plan.llama, env.s3Config));
  return rows;
}

/** Runs `run` with a way to start etcd servers of its own, every one stopped when it ends. */
async function withOwnEtcds<T>(run: (start: () => Promise<EtcdProcess>) => Promise<T>): Promise<T> {
  const stopper = new Stopper();
  try {
    return await run(async () => stopper.add(await startEtcd(BENCH_ETCD)));
  } finally {
    await stopper.stopAll();
  }
}

async function withClient<T>(config: ConfigOverrides, run: (c: KvCacheClient) => Promise<T>): Promise<T> {
  await using sdk = new DatenLordSDK({ env: {}, options: config });
  return await run(await sdk.connect());
}

function machine(plan: BenchPlan, before: number[], after: number[], seconds: number, sharedMemory: BenchEnvironment["hotSharedMemory"]) {
  const cpu = cpus();
  return {
    date: new Date().toISOString(),
    quick: plan.quick,
    node: process.version,
    cpu: `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: { before: before.map((l) => Number(l.toFixed(2))), after: after.map((l) => Number(l.toFixed(2))) },
    seconds,
    sharedMemory,
    /** glibc settings every process of the run started with (bench/allocator.ts). */
    allocator: KEEP_FREED_MEMORY,
    /** The native fast path (src/native.ts) and the CRC-32 in use: a run without them reads slower. */
    native: nativeStatus,
    checksum: checksumImplementation,
    /** GOMAXPROCS of every etcd the bench starts (bench/environment.ts). */
    etcdGoMaxProcs: BENCH_ETCD.goMaxProcs,
  };
}

if (hasAllocatorSettings(process.env)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
} else {
  // Every process of the run, this one included, gets the same allocator (bench/allocator.ts).
  process.exitCode = await rerunWithAllocatorSettings();
}
