import { findEtcdBinary } from "./etcd-binary.js";
import { spawnChild, unlessExited, type ChildHandle } from "./child.js";
import { freePorts } from "./ports.js";
import { makeTempDir, removeDir } from "./temp-dir.js";
import { waitFor } from "./wait-for.js";

/** One member of an etcd cluster, as named in --initial-cluster. */
export interface EtcdPeer {
  readonly name: string;
  readonly peerUrl: string;
}

export interface StartEtcdOptions {
  readonly name?: string;
  /** Data directory; a new temp dir when absent. stop() removes it either way. */
  readonly dataDir?: string;
  /** Every member (this one included); a one-member cluster when absent. */
  readonly cluster?: readonly EtcdPeer[];
  readonly clientPort?: number;
  readonly peerPort?: number;
  readonly clusterState?: "new" | "existing";
  /** How long to wait for /health (default 30 000 ms). */
  readonly startTimeoutMs?: number;
  /** GOMAXPROCS of the server's Go runtime (default: Go's, one per CPU). */
  readonly goMaxProcs?: number;
}

/** A real etcd server process on loopback ports. */
export interface EtcdProcess {
  readonly name: string;
  /** http://127.0.0.1:<clientPort> */
  readonly endpoint: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The current process id (changes on restart). */
  readonly pid: number;
  /** Sends `signal` (default SIGKILL: a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same data dir and ports; waits until healthy. */
  restart(): Promise<void>;
  /** SIGTERM, waits for exit, removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

interface Layout {
  readonly bin: string;
  readonly name: string;
  readonly dataDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly cluster: readonly EtcdPeer[];
  readonly clusterState: "new" | "existing";
  readonly startTimeoutMs: number;
  readonly goMaxProcs: number | undefined;
}

/**
 * Starts etcd and resolves once GET /health says {"health":"true"}. When the
 * ports are ours to pick, a port taken between picking and binding (other test
 * processes run alongside) is retried on fresh ports.
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdProcess> {
  const bin = await findEtcdBinary();
  const ownPorts = opts.clientPort === undefined && opts.peerPort === undefined && opts.cluster === undefined;
  return retryPortClash(ownPorts ? 3 : 1, () => startOnce(bin, opts));
}

/** Runs `attempt` up to `times` times while it fails because a port was taken. */
export async function retryPortClash<T>(times: number, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= times || !isPortClash(err)) throw err;
    }
  }
}

function isPortClash(err: unknown): boolean {
  return err instanceof Error && err.message.includes("address already in use");
}

async function startOnce(bin: string, opts: StartEtcdOptions): Promise<EtcdProcess> {
  const [clientPort, peerPort] = await portsFor(opts);
  const name = opts.name ?? "etcd0";
  const peerUrl = loopbackUrl(peerPort);
  const dataDir = opts.dataDir ?? (await makeTempDir("datenlord-etcd-"));
  const layout: Layout = {
    bin, name, dataDir, clientPort, peerPort,
    cluster: opts.cluster ?? [{ name, peerUrl }],
    clusterState: opts.clusterState ?? "new",
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    goMaxProcs: opts.goMaxProcs,
  };
  const member = new EtcdMember(layout);
  try {
    await member.launch();
  } catch (err) {
    await member.stop();
    throw err;
  }
  return member;
}

async function portsFor(opts: StartEtcdOptions): Promise<[number, number]> {
  const [a, b] = await freePorts(2);
  return [opts.clientPort ?? a!, opts.peerPort ?? b!];
}

export function loopbackUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

class EtcdMember implements EtcdProcess {
  readonly name: string;
  readonly endpoint: string;
  readonly peerUrl: string;
  private child: ChildHandle | undefined;
  private stopped = false;

  constructor(private readonly layout: Layout) {
    this.name = layout.name;
    this.endpoint = loopbackUrl(layout.clientPort);
    this.peerUrl = loopbackUrl(layout.peerPort);
  }

  get clientPort(): number { return this.layout.clientPort; }
  get peerPort(): number { return this.layout.peerPort; }
  get dataDir(): string { return this.layout.dataDir; }
  get pid(): number { return this.child?.pid ?? -1; }

  async launch(): Promise<void> {
    const child = spawnChild(this.layout.bin, etcdArgs(this.layout), { env: etcdEnv(this.layout.goMaxProcs) });
    this.child = child;
    await waitHealthy(this.endpoint, child, this.layout.startTimeoutMs, this.name);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    await this.child?.kill(signal);
  }

  async restart(): Promise<void> {
    if (this.child !== undefined && !this.child.hasExited()) throw new Error(`etcd ${this.name} is still running; kill() it first`);
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.child?.kill("SIGTERM");
    await removeDir(this.layout.dataDir);
  }
}

function etcdArgs(l: Layout): string[] {
  const client = loopbackUrl(l.clientPort);
  const peer = loopbackUrl(l.peerPort);
  return [
    "--name", l.name,
    "--data-dir", l.dataDir,
    "--logger", "zap",
    "--log-level", "warn",
    "--listen-client-urls", client,
    "--advertise-client-urls", client,
    "--listen-peer-urls", peer,
    "--initial-advertise-peer-urls", peer,
    "--initial-cluster", l.cluster.map((m) => `${m.name}=${m.peerUrl}`).join(","),
    "--initial-cluster-state", l.clusterState,
    // Same token on every member (it seeds the cluster id), distinct per cluster.
    "--initial-cluster-token", `datenlord-test-${l.cluster.map((m) => new URL(m.peerUrl).port).join("-")}`,
  ];
}

/** etcd reads ETCD_* variables as flags; ours (ETCD_ENDPOINTS, ETCD_BIN) must not leak in. */
function etcdEnv(goMaxProcs: number | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD_")));
  return goMaxProcs === undefined ? env : { ...env, GOMAXPROCS: String(goMaxProcs) };
}

function waitHealthy(endpoint: string, child: ChildHandle, timeoutMs: number, name: string): Promise<void> {
  const what = `etcd ${name} at ${endpoint} to report healthy`;
  return unlessExited(child, `etcd ${name}`, async (signal) => {
    await waitFor(() => isHealthy(endpoint), { what, timeoutMs, signal });
  });
}

/** etcd 3.4 answers GET /health with {"health":"true"} once it has a leader. */
export async function isHealthy(endpoint: string): Promise<boolean> {
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
  const body = (await res.json()) as { health?: string };
  return res.ok && body.health === "true";
}
