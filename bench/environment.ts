import { loadConfig, type ConfigOverrides } from "../src/config.js";
import { directoryHugePages, type HugePages } from "../src/huge-pages.js";
import { ensureEtcdInstalled } from "../test/helpers/install-etcd.js";
import { startEtcd, type EtcdProcess, type StartEtcdOptions } from "../test/helpers/etcd-process.js";
import { startNodeProcess, type NodeProcess } from "../test/helpers/node-process.js";
import { startS3rver, type S3rverProcess } from "../test/helpers/s3rver-process.js";
import { mountHugeTmpfs } from "./huge-tmpfs.js";
import { MiB } from "./measure.js";
import type { SharedMemoryPlan } from "./plan.js";
import { startRawTcpServer, type RawTcpServer } from "./raw-tcp.js";
import { ensureRedisInstalled, startRedis, type RedisProcess } from "./redis-process.js";

/** Everything the bench talks to, each server in its own process on loopback. */
export interface BenchEnvironment {
  readonly etcd: EtcdProcess;
  readonly s3: S3rverProcess;
  readonly redis: RedisProcess;
  readonly raw: RawTcpServer;
  /** The two cache nodes of the hot cluster (memory tier only). */
  readonly hotNodes: readonly NodeProcess[];
  /** Config of an SDK on the hot cluster. */
  readonly hot: ConfigOverrides;
  /** Where the hot nodes keep their memory files, and whether those get huge pages. */
  readonly hotSharedMemory: { readonly directory: string; readonly hugePages: HugePages };
  /** A node whose memory tier holds nothing and has no disk: every block it takes lives only in S3. */
  readonly coldNode: NodeProcess;
  /** Config of an SDK on the cold node (its own etcd root, so the hot cluster never places blocks there). */
  readonly cold: ConfigOverrides;
  /** The S3 settings every S3 user of the bench shares. */
  readonly s3Config: NonNullable<ConfigOverrides["s3"]>;
}

/** Stop functions, run in reverse order; stopping never throws. */
export class Stopper {
  private readonly stops: (() => Promise<void>)[] = [];

  add<T extends { stop(): Promise<void> }>(thing: T): T {
    this.stops.push(() => thing.stop());
    return thing;
  }

  async stopAll(): Promise<void> {
    for (const stop of this.stops.splice(0).reverse()) await stop().catch((err: unknown) => console.error("bench: stopping failed:", err));
  }
}

const HOT_MEMORY_BYTES = 768 * MiB;

/**
 * How the bench runs its etcd servers: with one core's worth of Go runtime
 * (GOMAXPROCS=1), as Redis runs on one thread. etcd's defaults give it a
 * scheduler thread per CPU, and on 2 vCPUs shared with the SDK and the nodes
 * those threads spin looking for work after every request: measured here,
 * 1 MiB loads cost etcd 0.051 – 0.055 ms of CPU each instead of 0.076 – 0.116,
 * and ran at 4,170 – 5,260 a second instead of 2,940 – 4,910 (README,
 * "etcd on one core").
 */
export const BENCH_ETCD: StartEtcdOptions = { goMaxProcs: 1 };

/**
 * Starts etcd, s3rver, redis-server, the raw TCP server and three cache nodes;
 * registers each with `stopper`. The hot nodes' memory files go where
 * `sharedMemory` says (bench/plan.ts).
 */
export async function startEnvironment(stopper: Stopper, log: (line: string) => void, sharedMemory: SharedMemoryPlan): Promise<BenchEnvironment> {
  await ensureEtcdInstalled(log);
  const redisBin = await ensureRedisInstalled(log);
  const [etcd, s3, redis, raw] = await Promise.all([
    startEtcd(BENCH_ETCD).then((p) => stopper.add(p)),
    startS3rver({ bucket: "datenlord-bench" }).then((p) => stopper.add(p)),
    startRedis(redisBin).then((p) => stopper.add(p)),
    startRawTcpServer().then((p) => stopper.add(p)),
  ]);
  const s3Config = {
    endpoint: s3.endpoint, bucket: s3.bucket, region: "us-east-1", accessKeyId: "S3RVER", secretAccessKey: "S3RVER", forcePathStyle: true, prefix: "bench",
  };
  // strict: a failed load throws its cause instead of degrading to a miss the bench would misread.
  const hot: ConfigOverrides = { namespace: "bench", etcd: { endpoints: [etcd.endpoint], rootPrefix: "/bench-hot" }, sdk: { strict: true } };
  // A node reading 4 MiB objects from s3rver on a busy 2-core machine can take longer than the default 2 s.
  const cold: ConfigOverrides = {
    namespace: "bench", etcd: { endpoints: [etcd.endpoint], rootPrefix: "/bench-cold" }, s3: s3Config, sdk: { strict: true }, cluster: { requestTimeoutMs: 30_000 },
  };
  const node = (nodeId: string, config: ConfigOverrides): Promise<NodeProcess> =>
    startNodeProcess({ configOverrides: { ...config, nodeId }, startTimeoutMs: 60_000 }).then((p) => stopper.add(p));
  const sharedDirectory = await hotSharedDirectory(stopper, log, sharedMemory);
  const hotMemory = { capacityBytes: HOT_MEMORY_BYTES, sharedDirectory };
  const [hot0, hot1, coldNode] = await Promise.all([
    node("hot-0", { ...hot, memory: hotMemory, disk: { directory: "" } }),
    node("hot-1", { ...hot, memory: hotMemory, disk: { directory: "" } }),
    node("cold-0", { ...cold, memory: { capacityBytes: 1 }, disk: { directory: "" } }),
  ]);
  const hotSharedMemory = { directory: sharedDirectory, hugePages: await directoryHugePages(sharedDirectory) };
  log(`hot nodes' memory files in ${hotSharedMemory.directory} (huge pages: ${hotSharedMemory.hugePages})`);
  return { etcd, s3, redis, raw, hotNodes: [hot0!, hot1!], hot, hotSharedMemory, coldNode: coldNode!, cold, s3Config };
}

/** The hot nodes' memory.sharedDirectory; a tmpfs the bench mounts is registered with `stopper` before the nodes, so it is unmounted after them. */
async function hotSharedDirectory(stopper: Stopper, log: (line: string) => void, plan: SharedMemoryPlan): Promise<string> {
  if (typeof plan === "object") return plan.directory;
  const mounted = plan === "huge-tmpfs" ? await mountHugeTmpfs(2 * (HOT_MEMORY_BYTES + 64 * MiB), log) : undefined;
  return mounted === undefined ? loadConfig({ env: {} }).memory.sharedDirectory : stopper.add(mounted).directory;
}
