import { spawn, type ChildProcess } from "node:child_process";

/** How a child process ended. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  readonly error?: Error;
}

/** A server process started by a test helper. */
export interface ChildHandle {
  readonly pid: number;
  /** Settles (never rejects) when the process has exited. */
  readonly exited: Promise<ChildExit>;
  hasExited(): boolean;
  /** The last few KiB of stdout + stderr, for error messages. */
  outputTail(): string;
  /** Sends `signal` and resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
}

export interface SpawnChildOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called with each stdout chunk (e.g. to read a "listening on" line). */
  readonly onStdout?: (text: string) => void;
}

const TAIL_BYTES = 8 * 1024;

/**
 * Spawns `command` with piped output kept as a bounded tail. If the test
 * process exits first, the child is SIGKILLed, so a crashed or interrupted run
 * leaves no server behind.
 */
export function spawnChild(command: string, args: readonly string[], opts: SpawnChildOptions = {}): ChildHandle {
  const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  let tail = "";
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString("utf8")).slice(-TAIL_BYTES);
  };
  child.stdout?.on("data", (chunk: Buffer) => {
    keep(chunk);
    opts.onStdout?.(chunk.toString("utf8"));
  });
  child.stderr?.on("data", keep);
  const exited = watchExit(child);
  return {
    pid: child.pid ?? -1,
    exited,
    hasExited: () => child.exitCode !== null || child.signalCode !== null || child.pid === undefined,
    outputTail: () => tail,
    kill: (signal = "SIGTERM") => killAndWait(child, exited, signal),
  };
}

function watchExit(child: ChildProcess): Promise<ChildExit> {
  const killOnExit = (): void => void child.kill("SIGKILL");
  process.once("exit", killOnExit);
  return new Promise((resolve) => {
    const done = (exit: ChildExit): void => {
      process.removeListener("exit", killOnExit);
      resolve(exit);
    };
    child.once("error", (error) => done({ code: null, signal: null, error }));
    // "close" (not "exit") so the output tail is complete when we report it.
    child.once("close", (code, signal) => done({ code, signal }));
  });
}

async function killAndWait(child: ChildProcess, exited: Promise<ChildExit>, signal: NodeJS.Signals): Promise<ChildExit> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill(signal);
  return exited;
}

/** "exit code 1" / "signal SIGKILL" / the spawn error, for messages. */
export function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return `failed to start: ${exit.error.message}`;
  return exit.signal !== null ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * Runs `work` (typically a waitFor on a readiness probe) but fails at once,
 * quoting the process's last output, if the process exits first: a server that
 * crashed at startup should not cost a full readiness timeout.
 */
export async function unlessExited<T>(child: ChildHandle, name: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const died = child.exited.then((exit): never => {
    throw new Error(`${name} ${describeExit(exit)} before it was ready; output:\n${child.outputTail()}`);
  });
  const ready = work(stop.signal);
  try {
    return await Promise.race([ready, died]);
  } finally {
    stop.abort();
    died.catch(() => undefined);
    ready.catch(() => undefined);
  }
}
