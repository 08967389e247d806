/**
 * The baselines' clients — Redis through ioredis, the raw loopback sockets and
 * the AWS SDK's GetObject — run in a process of their own (bench/baseline-worker.ts),
 * apart from the SDK under test, as they would in a deployment. In one process
 * every contender's garbage lands on the same collector and heap: while the SDK
 * held its blocks in flight in long-lived sets (it no longer does), Redis GET in
 * the bench process ran at 0.70 – 0.79 GB/s, and at 1.12 – 1.64 once that was
 * fixed. Each round is timed inside the worker; the bench charges it the
 * worker's CPU and its server's.
 */
import { fork, type ChildProcess } from "node:child_process";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { S3Config } from "../src/config.js";
import { KEEP_FREED_MEMORY } from "./allocator.js";
import type { Round } from "./measure.js";

/** How the worker is opened: which servers its clients connect to. */
export interface BaselineOpen {
  /** redis-server's port; without it, Redis rounds fail. */
  readonly redisPort?: number;
  /** The raw TCP server's port (bench/raw-tcp.ts); without it, raw rounds fail. */
  readonly rawPort?: number;
  /** Raw TCP connections to open, of each kind (one per request in flight). */
  readonly connections: number;
}

/** What the worker is asked to do, one round per message. */
export type BaselineRequest =
  | ({ readonly kind: "open" } & BaselineOpen)
  /** GETs of `keys` in turn, `concurrency` in flight on one ioredis client (pipelined). */
  | { readonly kind: "get"; readonly ops: number; readonly concurrency: number; readonly keys: readonly string[] }
  /** SETs of fresh keys `${prefix}${i}`, i < ops, values `patternBytes(seed + i % 16, size)`. */
  | { readonly kind: "set"; readonly ops: number; readonly concurrency: number; readonly prefix: string; readonly size: number; readonly seed: number }
  /** Unlinks the keys a "set" round wrote (no round). */
  | { readonly kind: "unlink"; readonly ops: number; readonly prefix: string }
  /** Raw TCP fetches of `size` bytes, the next of `blocks` distinct blocks each; `direct`: read through net's onread. */
  | { readonly kind: "raw"; readonly ops: number; readonly concurrency: number; readonly size: number; readonly blocks: number; readonly direct: boolean }
  /** GetObject of `objects` in turn, each body read whole, through a client from the S3 tier's own factory with `s3`'s settings. */
  | { readonly kind: "getObject"; readonly ops: number; readonly concurrency: number; readonly s3: S3Config; readonly objects: readonly string[] };

export type BaselineMessage = BaselineRequest & { readonly id: number };

export type BaselineReply = { readonly id: number; readonly round?: Round; readonly error?: string };

type Pending = { resolve: (round: Round | undefined) => void; reject: (err: Error) => void };

/** The parent's handle on the worker process. */
export class BaselineProcess {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #next = 0;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on("message", (reply: BaselineReply) => {
      const pending = this.#pending.get(reply.id);
      if (pending === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.error !== undefined) pending.reject(new Error(`baseline worker: ${reply.error}`));
      else pending.resolve(reply.round);
    });
    // No kill on this process's exit: the worker exits when its IPC channel closes, as it does then.
    this.#exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        for (const p of this.#pending.values()) p.reject(new Error(`baseline worker exited (code ${code}, signal ${signal})`));
        this.#pending.clear();
        resolve();
      });
    });
  }

  /** Forks the worker (its TypeScript source through tsx, or the compiled output) and opens its clients. */
  static async start(open: BaselineOpen): Promise<BaselineProcess> {
    const extension = extname(fileURLToPath(import.meta.url));
    const worker = fileURLToPath(new URL(`./baseline-worker${extension}`, import.meta.url));
    const execArgv = extension === ".ts" ? ["--import", "tsx"] : [];
    const child = fork(worker, [], { stdio: ["ignore", "inherit", "inherit", "ipc"], execArgv, env: { ...process.env, ...KEEP_FREED_MEMORY } });
    const baselines = new BaselineProcess(child);
    try {
      await baselines.#ask({ kind: "open", ...open });
    } catch (err) {
      await baselines.stop();
      throw err;
    }
    return baselines;
  }

  get pid(): number {
    return this.#child.pid ?? -1;
  }

  /** One timed round in the worker. */
  async round(request: Exclude<BaselineRequest, { kind: "open" | "unlink" }>): Promise<Round> {
    const round = await this.#ask(request);
    if (round === undefined) throw new Error(`baseline worker answered a ${request.kind} round without one`);
    return round;
  }

  /** Unlinks the keys of a "set" round, untimed. */
  async unlink(prefix: string, ops: number): Promise<void> {
    await this.#ask({ kind: "unlink", prefix, ops });
  }

  /** Disconnects; the worker closes its clients and exits. */
  async stop(): Promise<void> {
    if (this.#child.connected) this.#child.disconnect();
    await this.#exited;
  }

  #ask(request: BaselineRequest): Promise<Round | undefined> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...request, id } satisfies BaselineMessage, (err) => {
        if (err === null) return;
        this.#pending.delete(id);
        reject(err);
      });
    });
  }
}
