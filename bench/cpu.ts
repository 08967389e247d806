import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat;
 * NaN where /proc is missing or the process is gone. Used to report CPU per
 * operation across every process on a path: unlike throughput, that figure
 * hardly moves when other work shares the machine.
 */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at state (field 3); utime, stime are 14, 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Total CPU seconds of `pids` (this process: process.pid). */
export function cpuSecondsOfAll(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
}

/** Runs `work` and resolves its result with the CPU seconds `pids` used meanwhile. */
export async function withCpu<T>(pids: readonly number[], work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number }> {
  const before = cpuSecondsOfAll(pids);
  const result = await work();
  return { result, cpuSeconds: cpuSecondsOfAll(pids) - before };
}
