import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A new empty directory under os.tmpdir(); the caller removes it with removeDir. */
export function makeTempDir(prefix = "datenlord-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory tree; a missing directory is not an error. */
export async function removeDir(path: string): Promise<void> {
  // Retries cover a server that is still closing files while we delete (ENOTEMPTY).
  await rm(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}
