import { readFileSync } from "node:fs";

/** The CPU's feature flags from /proc/cpuinfo (empty off Linux). */
function cpuFlags(): Set<string> {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("flags"));
    return new Set(line?.split(":")[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return new Set();
  }
}

/** Whether this machine's CPU runs src/native's folded CRC (AVX-512F, AVX-512BW, VPCLMULQDQ), read independently of the addon's own check. */
export function cpuRunsFoldedCrc(): boolean {
  const flags = cpuFlags();
  return process.arch === "x64" && ["avx512f", "avx512bw", "vpclmulqdq"].every((f) => flags.has(f));
}
