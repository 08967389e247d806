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
  /** memory.sharedDirectory of the hot cluster's nodes; undefined: the default (/dev/shm). */
  readonly sharedDirectory: string | undefined;
  readonly sections: ReadonlySet<Section>;
  readonly hot: HotLoadSettings;
  readonly insert: InsertSettings;
  readonly lookup: LookupSettings;
  readonly embedded: EmbeddedSettings;
  readonly cold: ColdSettings;
  readonly llama: LlamaSettings;
}

const SIZES = [64 * KiB, MiB, 4 * MiB];
const CONCURRENCY = 8;

/**
 * `npm run bench [-- --quick] [--only=hot,lookup] [--no-llama] [--shared-directory=DIR]`.
 * Full: 7 rounds per figure; quick: 3 rounds of smaller batches (a smoke run,
 * noisier). --shared-directory puts the hot nodes' memory files in DIR, such as
 * a tmpfs mounted with huge pages (README, "Huge pages for the shared memory file").
 */
export function parsePlan(argv: readonly string[]): BenchPlan {
  const quick = argv.includes("--quick");
  const only = argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
  const unknown = only?.filter((s) => !(SECTIONS as readonly string[]).includes(s)) ?? [];
  if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(", ")}; known: ${SECTIONS.join(", ")}`);
  const sections = new Set<Section>((only as Section[] | undefined) ?? SECTIONS);
  if (argv.includes("--no-llama")) sections.delete("llama");
  const rounds = quick ? 3 : 7;
  const sharedDirectory = argv.find((a) => a.startsWith("--shared-directory="))?.slice("--shared-directory=".length);
  if (sharedDirectory === "") throw new Error("--shared-directory needs a directory");
  return {
    quick,
    sharedDirectory,
    sections,
    hot: { sizes: SIZES, concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 32 : 128) * MiB },
    insert: { sizes: SIZES, concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 16 : 64) * MiB },
    lookup: { keyCounts: [1_000, 10_000, 100_000], samples: quick ? 300 : 2000 },
    embedded: { sizes: [64 * KiB, MiB], concurrency: CONCURRENCY, rounds, bytesPerRound: (quick ? 64 : 256) * MiB },
    cold: { sizes: [MiB, 4 * MiB], concurrency: CONCURRENCY, rounds, blocks: quick ? 16 : 32 },
    llama: { size: quick ? "small" : "medium", promptTokens: [64, 256, 1024], repeats: quick ? 1 : 3 },
  };
}
