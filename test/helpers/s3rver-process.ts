import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { spawnChild, unlessExited, type ChildHandle } from "./child.js";
import { makeTempDir, removeDir } from "./temp-dir.js";
import { waitFor } from "./wait-for.js";

export interface StartS3rverOptions {
  /** Bucket created at startup (default "datenlord-test"). */
  readonly bucket?: string;
  /** Data directory; a new temp dir when absent. stop() removes it either way. */
  readonly dir?: string;
  /** How long to wait for the first answer (default 30 000 ms). */
  readonly startTimeoutMs?: number;
}

/** A real S3 wire-protocol server (s3rver) in its own process. */
export interface S3rverProcess {
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  readonly bucket: string;
  readonly dir: string;
  readonly pid: number;
  /** SIGTERM, waits for exit, removes the data dir. Idempotent. */
  stop(): Promise<void>;
}

const LISTENING = /S3rver listening on [^\s:]+:(\d+)/;

/**
 * Starts s3rver on a port it picks itself (port 0, read back from its
 * "listening" line, so no port race) and resolves once it answers HTTP.
 */
export async function startS3rver(opts: StartS3rverOptions = {}): Promise<S3rverProcess> {
  const bucket = opts.bucket ?? "datenlord-test";
  const dir = opts.dir ?? (await makeTempDir("datenlord-s3rver-"));
  let port: number | undefined;
  const child = spawnChild(process.execPath, s3rverArgs(dir, bucket), {
    onStdout: (text) => {
      port ??= Number(LISTENING.exec(text)?.[1]) || undefined;
    },
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await child.kill("SIGTERM");
    await removeDir(dir);
  };
  try {
    const endpoint = await waitAnswering(() => port, child, opts.startTimeoutMs ?? 30_000, bucket);
    return { endpoint, bucket, dir, pid: child.pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function s3rverArgs(dir: string, bucket: string): string[] {
  // s3rver 3.7 still uses crypto that OpenSSL 3 only offers through the legacy provider.
  return ["--openssl-legacy-provider", s3rverCli(), "--directory", dir, "--address", "127.0.0.1", "--port", "0",
    "--silent", "--no-vhost-buckets", "--configure-bucket", bucket];
}

function s3rverCli(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("s3rver/package.json")), "bin", "s3rver.js");
}

function waitAnswering(port: () => number | undefined, child: ChildHandle, timeoutMs: number, bucket: string): Promise<string> {
  const probe = async (): Promise<string | undefined> => {
    const p = port();
    if (p === undefined) return undefined;
    const endpoint = `http://127.0.0.1:${p}`;
    // Any non-5xx answer to HEAD /<bucket> means the server and the bucket are up.
    const res = await fetch(`${endpoint}/${bucket}`, { method: "HEAD", signal: AbortSignal.timeout(2_000) });
    return res.status < 500 ? endpoint : undefined;
  };
  const what = `s3rver to answer HTTP (bucket ${bucket})`;
  return unlessExited(child, "s3rver", (signal) => waitFor(probe, { what, timeoutMs, signal }));
}
