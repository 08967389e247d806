import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { nativeFastPath, nativeStatus, type NativeFastPath } from "../../src/native.js";

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

/** What a test that needs the native fast path says when it is not there. */
export const NATIVE_MISSING = "the native fast path (src/native) is not loaded: run npm run build:native (needs python3, make and g++; Debian: apt-get install -y python3 make g++)";

/** The native fast path, or a failed expectation saying how to build it: tests that need it never pass without it. */
export function requireNativeFastPath(): NativeFastPath {
  expect(nativeStatus, NATIVE_MISSING).toBe("loaded");
  return nativeFastPath!;
}
