/**
 * One allocator setting for every process the bench starts. glibc reads these
 * variables once, when a process starts, so the bench re-runs itself with them
 * when started without them ({@link rerunWithAllocatorSettings}); every process
 * it starts inherits them: the baselines' worker, the cache nodes, s3rver.
 * (etcd and redis-server bring allocators of their own and ignore them.)
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";

/**
 * glibc told to keep the memory it frees (no trimming, no mmap per large block).
 * A process that does nothing but receive 1 MiB replies otherwise hands much of
 * it back and faults it in again: measured in the baselines' worker, 12 – 36 page
 * faults and 1.1 – 2.1 ms of CPU per 1 MiB GET, where the same client in a
 * process with more allocation behind it took 0.3 – 0.6 faults and 0.5 – 0.7 ms;
 * on this VM a page handed back costs a trip to the host when touched again.
 * Unchecked, the baselines swung between runs (Redis GET 0.47 – 2.01 GB/s, the
 * raw socket 0.55 – 3.75). The SDK's side pays the same way: cold 4 MiB loads
 * cost 33 – 37 ms of CPU each with the bench process as it comes, 23 – 26 with
 * these settings (cold-only runs, alternating).
 */
export const KEEP_FREED_MEMORY: Readonly<Record<string, string>> = {
  MALLOC_MMAP_THRESHOLD_: String(128 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(16 * 1024 * 1024 * 1024),
};

/** True when `env` carries {@link KEEP_FREED_MEMORY} as it is. */
export function hasAllocatorSettings(env: NodeJS.ProcessEnv): boolean {
  return Object.entries(KEEP_FREED_MEMORY).every(([name, value]) => env[name] === value);
}

/**
 * Runs this same script again (same Node, flags and arguments) with
 * {@link KEEP_FREED_MEMORY} added to the environment, passes SIGINT and SIGTERM
 * on, and resolves with the exit code to end with (128 + the signal's number
 * when the run was killed by one).
 */
export function rerunWithAllocatorSettings(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: "inherit", env: { ...process.env, ...KEEP_FREED_MEMORY } });
  const forward = (signal: NodeJS.Signals) => (): void => void child.kill(signal);
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  process.on("SIGINT", onInt).on("SIGTERM", onTerm);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      process.off("SIGINT", onInt).off("SIGTERM", onTerm);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

