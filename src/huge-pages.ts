import { readFile, realpath } from "node:fs/promises";
import path from "node:path";

/**
 * Whether files in a directory live on transparent huge pages (2 MiB) or on
 * 4 KiB pages. It matters for the shared memory file (src/shared-memory-file.ts):
 * a same-host SDK reads a block with one pread, and the kernel's cost of a
 * pread from tmpfs is mostly per page. Measured here, 1 MiB from /dev/shm
 * (4 KiB pages): 123–142 µs; from a tmpfs mounted with huge=within_size or
 * huge=always: 47–49 µs (a memcpy of 1 MiB: 25 µs).
 *
 * - `"yes"`: a tmpfs whose files get huge pages (its huge= option is always or
 *   within_size, or the kernel forces them on every tmpfs);
 * - `"no"`: a tmpfs on 4 KiB pages (no huge= option, huge=never or advise, or the
 *   kernel denies them);
 * - `"not tmpfs"`: another file system;
 * - `"unknown"`: the directory or the mount table could not be read (missing, not Linux).
 */
export type HugePages = "yes" | "no" | "not tmpfs" | "unknown";

/** The kernel's switch over every tmpfs (/sys/kernel/mm/transparent_hugepage/shmem_enabled): only deny and force override a mount's own option. */
type ShmemOverride = "deny" | "force" | undefined;

export interface Mount {
  readonly point: string;
  readonly fsType: string;
  readonly options: readonly string[];
}

/**
 * The mount that holds `directory` (an absolute, symlink-free path) in
 * /proc/self/mountinfo text: the longest mount point that contains it; of mounts
 * stacked on one point, the last (the visible one).
 */
export function mountOf(mountinfo: string, directory: string): Mount | undefined {
  let best: Mount | undefined;
  for (const line of mountinfo.split("\n")) {
    const mount = parseMountLine(line);
    if (mount === undefined || !contains(mount.point, directory)) continue;
    if (best === undefined || mount.point.length >= best.point.length) best = mount;
  }
  return best;
}

/** What {@link HugePages} a directory on `mount` gets, given the kernel's tmpfs-wide switch (the bracketed word of shmem_enabled). */
export function hugePagesOf(mount: Mount | undefined, shmemEnabled: string | undefined): HugePages {
  if (mount === undefined) return "unknown";
  if (mount.fsType !== "tmpfs") return "not tmpfs";
  const override = shmemOverride(shmemEnabled);
  if (override !== undefined) return override === "force" ? "yes" : "no";
  const huge = mount.options.find((o) => o.startsWith("huge="))?.slice("huge=".length);
  return huge === "always" || huge === "within_size" ? "yes" : "no";
}

/** {@link HugePages} for `directory` on this machine. Never throws: what cannot be read is "unknown". */
export async function directoryHugePages(directory: string): Promise<HugePages> {
  try {
    const [mountinfo, real] = await Promise.all([readFile("/proc/self/mountinfo", "utf8"), realpath(path.resolve(directory))]);
    const shmemEnabled = await readFile("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "utf8").catch(() => undefined);
    return hugePagesOf(mountOf(mountinfo, real), shmemEnabled);
  } catch {
    return "unknown";
  }
}

/** `36 35 98:0 /root /mnt/point rw,noatime master:1 - tmpfs tmpfs rw,size=1g,huge=always` */
function parseMountLine(line: string): Mount | undefined {
  const [before, after] = line.split(" - ");
  if (before === undefined || after === undefined) return undefined;
  const point = before.split(" ")[4];
  const [fsType, , superOptions] = after.split(" ");
  if (point === undefined || fsType === undefined) return undefined;
  return { point: unescapeOctal(point), fsType, options: (superOptions ?? "").split(",") };
}

/** mountinfo writes space, tab, newline and backslash in paths as \ooo. */
function unescapeOctal(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function contains(point: string, directory: string): boolean {
  return point === "/" || directory === point || directory.startsWith(`${point}/`);
}

function shmemOverride(shmemEnabled: string | undefined): ShmemOverride {
  const chosen = /\[(\w+)\]/.exec(shmemEnabled ?? "")?.[1];
  return chosen === "deny" || chosen === "force" ? chosen : undefined;
}
