import { execFile } from "node:child_process";
import { mkdtemp, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { directoryHugePages } from "../src/huge-pages.js";

const run = promisify(execFile);

/** A tmpfs the bench mounted for the hot nodes' memory files; `stop` unmounts it. */
export interface HugeTmpfs {
  readonly directory: string;
  stop(): Promise<void>;
}

/**
 * Mounts a tmpfs with huge pages (huge=within_size) of `bytes` in a new
 * temporary directory: the deployment the README recommends for nodes with
 * same-host SDKs ("Huge pages for the shared memory file"). Needs root; returns
 * undefined, saying why through `log`, when not root or when the mount fails or
 * does not get huge pages (a kernel that denies them), and the nodes then keep
 * the config default.
 */
export async function mountHugeTmpfs(bytes: number, log: (line: string) => void): Promise<HugeTmpfs | undefined> {
  if (process.getuid?.() !== 0) {
    log("not root: the hot nodes keep their memory files in memory.sharedDirectory's default, without huge pages");
    return undefined;
  }
  const directory = await mkdtemp(path.join(tmpdir(), "datenlordsdk-bench-shm-"));
  const mounted: HugeTmpfs = { directory, stop: () => unmount(directory) };
  try {
    await run("mount", ["-t", "tmpfs", "-o", `huge=within_size,size=${bytes},mode=0700`, "tmpfs", directory]);
  } catch (err) {
    await rmdir(directory).catch(() => undefined);
    log(`cannot mount a huge-page tmpfs (${(err as Error).message.trim()}): the hot nodes keep memory.sharedDirectory's default`);
    return undefined;
  }
  if ((await directoryHugePages(directory)) !== "yes") {
    await mounted.stop();
    log("the kernel gives this tmpfs no huge pages: the hot nodes keep memory.sharedDirectory's default");
    return undefined;
  }
  return mounted;
}

/** Detaches lazily (a file still open somewhere cannot fail the bench's exit), then removes the mount point. */
async function unmount(directory: string): Promise<void> {
  await run("umount", ["--lazy", directory]);
  await rmdir(directory);
}
