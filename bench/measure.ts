/** Timing and statistics shared by every bench section. */
import { withCpu } from "./cpu.js";


export const KiB = 1024;
export const MiB = 1024 * KiB;

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function nowMs(): number {
  return performance.now();
}

/** One throughput round: `ops` calls of `op(i)` spread over `workers` concurrent loops. */
export interface Round {
  readonly seconds: number;
  readonly ops: number;
  readonly bytes: number;
  /** CPU seconds the processes on the path used during the round (see {@link measuredRound}). */
  readonly cpuSeconds?: number;
}

/**
 * Runs `op(i, worker)` for i = 0 .. ops-1 with `workers` loops pulling the next
 * index, so `workers` calls are in flight at once; `op` resolves the bytes it moved.
 */
export async function runRound(ops: number, workers: number, op: (i: number, worker: number) => Promise<number>): Promise<Round> {
  let next = 0;
  let bytes = 0;
  const loop = async (_: unknown, worker: number): Promise<void> => {
    for (let i = next++; i < ops; i = next++) {
      const moved = await op(i, worker); // not `bytes += await …`: that reads `bytes` before the await
      bytes += moved;
    }
  };
  const start = nowMs();
  await Promise.all(Array.from({ length: Math.min(workers, ops) }, loop));
  return { seconds: (nowMs() - start) / 1000, ops, bytes };
}

export function gbPerSecond(r: Round): number {
  return r.bytes / r.seconds / 1e9;
}

export function opsPerSecond(r: Round): number {
  return r.ops / r.seconds;
}

/** A round with the CPU time of every process on the path (this one included), read from /proc. */
export async function measuredRound(pids: readonly number[], round: () => Promise<Round>): Promise<Round> {
  const { result, cpuSeconds } = await withCpu(pids, round);
  return { ...result, cpuSeconds };
}

export interface Summary {
  readonly gbps: number;
  readonly opsps: number;
  /** CPU milliseconds per operation over every process on the path, all rounds together; NaN when not measured. */
  readonly cpuMsPerOp: number;
}

/**
 * A series of rounds: throughput as the median round's, CPU per operation as
 * the CPU of all rounds over all their operations. Not a median of rounds:
 * /proc counts CPU in 10 ms ticks, so a round of 128 loads of 1 MiB can only
 * read whole multiples of 0.078 ms per load, and a median of such rounds
 * jumps between them (0.16, 0.23, 0.31 ms) as the rounds fall.
 */
export function summarize(rounds: readonly Round[]): Summary {
  const cpuSeconds = rounds.reduce((sum, r) => sum + (r.cpuSeconds ?? Number.NaN), 0);
  return {
    gbps: median(rounds.map(gbPerSecond)),
    opsps: median(rounds.map(opsPerSecond)),
    cpuMsPerOp: (cpuSeconds / rounds.reduce((sum, r) => sum + r.ops, 0)) * 1000,
  };
}

/** The lowest and highest ratio of throughput over paired rounds (ours[i] / theirs[i]). */
export function pairedRange(ours: readonly Round[], theirs: readonly Round[]): [number, number] {
  const ratios = ours.map((r, i) => gbPerSecond(r) / gbPerSecond(theirs[i]!));
  return [Math.min(...ratios), Math.max(...ratios)];
}

/** "1234 ops/s, CPU 1.23 ms/op" */
export function describe(s: Summary, what = "ops"): string {
  const cpu = Number.isNaN(s.cpuMsPerOp) ? "" : `, CPU ${s.cpuMsPerOp.toFixed(2)} ms/op`;
  return `${s.opsps.toFixed(0)} ${what}/s${cpu}`;
}

/**
 * Runs the contenders round-robin, `rounds` times: each round of one contender
 * is followed by one of the next, so load from other processes on this machine
 * falls on all of them alike. The order changes from one time round to the
 * next (see {@link roundOrder}), so that what a round leaves behind (garbage
 * to collect, memory to hand back) does not always land on the same neighbour.
 * Resolves each contender's rounds, by name.
 */
export async function interleave(rounds: number, contenders: Readonly<Record<string, () => Promise<Round>>>): Promise<Record<string, Round[]>> {
  const names = Object.keys(contenders);
  const out: Record<string, Round[]> = Object.fromEntries(names.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const name of roundOrder(names, r)) out[name]!.push(await contenders[name]!());
  }
  return out;
}

/**
 * Rounds to run for at least `atLeast` of each of `contenders`: rounded up to
 * whole periods of {@link roundOrder}'s design, so that every contender comes
 * right after every other equally often over the whole run, not only nearly.
 */
export function balancedRounds(atLeast: number, contenders: number): number {
  if (contenders < 2) return atLeast;
  const period = contenders % 2 === 0 ? contenders : 2 * contenders;
  return Math.max(1, Math.ceil(atLeast / period)) * period;
}

/**
 * The order of time round `round`, from a Williams design: over n rounds (2n
 * when n is odd) every contender comes right after every other equally often.
 * The first row is 0, 1, n-1, 2, n-2, …; row r adds r to each (mod n); with n
 * odd, rows n to 2n-1 are rows 0 to n-1 reversed.
 */
export function roundOrder<T>(names: readonly T[], round: number): T[] {
  const n = names.length;
  if (n < 2) return [...names];
  const row = round % (n % 2 === 0 ? n : 2 * n);
  const order = Array.from({ length: n }, (_, i) => ((i % 2 === 1 ? (i + 1) / 2 : n - i / 2) + row) % n);
  if (row >= n) order.reverse();
  return order.map((i) => names[i]!);
}

/** Latency samples (ms) of `samples` sequential calls of each contender, alternating call by call. */
export async function alternateLatency(samples: number, contenders: Readonly<Record<string, (i: number) => Promise<unknown>>>): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const [name, call] of Object.entries(contenders)) {
      const start = nowMs();
      await call(i);
      out[name]!.push(nowMs() - start);
    }
  }
  return out;
}

/** Deterministic pseudo-random bytes (xorshift), so values are the same in every run without crypto's cost. */
export function patternBytes(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i + 4 <= size; i += 4) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (let i = size - (size % 4); i < size; i++) out[i] = i & 0xff;
  return out;
}
