import type { ColdSettings } from "./cold.js";
import type { EmbeddedSettings } from "./embedded.js";
import type { HotLoadSettings } from "./hot-load.js";
import type { InsertSettings } from "./insert.js";
import type { LlamaSettings } from "./llama.js";
import type { LookupSettings } from "./lookup.js";
import { KiB, MiB } from "./measure.js";

export const SECTIONS = ["hot", "insert", "lookup", "embedded", "cold", "llama"] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchPlan {
  readonly quick: boolean;
  /**
   * Where the hot nodes keep their memory files: on a tmpfs with huge pages the
   * bench mounts when it can (the default; bench/huge-tmpfs.ts), in
   * memory.sharedDirectory's default (/dev/shm), or in a given directory.
   */
  readonly sharedMemory: SharedMemoryPlan;
  readonly sections: ReadonlySet<Section>;
  readonly hot: HotLoadSettings;
  readonly insert: InsertSettings;
  readonly lookup: LookupSettings;
  readonly embedded: EmbeddedSettings;
  readonly cold: ColdSettings;
  readonly llama: LlamaSettings;
}

export type SharedMemoryPlan = "huge-tmpfs" | "config-default" | { readonly directory: string };

const SIZES = [64 * KiB, MiB, 4 * MiB];
const CONCURRENCY = 8;

/**
 * `npm run bench [-- --quick] [--only=hot,lookup] [--no-llama] [--no-huge-pages | --shared-directory=DIR]`.
 * Full: 7 rounds per figure (at least: each section rounds up to whole periods
 * of its order of contenders, measure.ts balancedRounds); quick: 3 rounds of smaller batches (a smoke run,
 * noisier). The hot nodes' memory files go on a huge-page tmpfs the bench
 * mounts when root (README, "Huge pages for the shared memory file");
 * --no-huge-pages leaves them in /dev/shm, --shared-directory puts them in DIR.
 */
export function parsePlan(argv: readonly string[]): BenchPlan {
  const quick = argv.includes("--quick");
  const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`);
  const sections = new Set<Section>((only as Section[] | undefined) ?? SECTIONS);
  if (argv.includes("--no-llama")) sections.delete("llama");
  const rounds = quick ? 3 : 7;
  return {
    quick,
    sharedMemory: sharedMemoryPlan(argv),
    sections,
    hot: { sizes: SIZES, concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 32 : 128) * MiB },
    insert: { sizes: SIZES, concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 16 : 64) * MiB },
    lookup: { keyCounts: [1_000, 10_000, 100_000], samples: quick ? 300 : 2000 },
    embedded: { sizes: [64 * KiB, MiB], concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 64 : 256) * MiB },
    cold: { sizes: [MiB, 4 * MiB], concurrency: CONCURRENCY, rounds, blocks: quick ? 16 : 32 },
    llama: { size: quick ? "small" : "medium", promptTokens: [64, 256, 1024], repeats: quick ? 1 : 3 },
  };
}

function sharedMemoryPlan(argv: readonly string[]): SharedMemoryPlan {
  const directory = argv.find((a) => a.startsWith("--shared-directory="))?.slice("--shared-directory=".length);
  const noHuge = argv.includes("--no-huge-pages");
  if (directory === "") throw new Error("--shared-directory needs a directory");
  if (directory !== undefined && noHuge) throw new Error("--shared-directory and --no-huge-pages exclude each other");
  return directory !== undefined ? { directory } : noHuge ? "config-default" : "huge-tmpfs";
}
