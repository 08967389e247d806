import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";

export const ETCD_MISSING_MESSAGE =
  "etcd not found: install it with `apt-get install -y etcd-server` (Debian) or set ETCD_BIN, or point ETCD_ENDPOINTS at a running etcd";

/**
 * The etcd executable: $ETCD_BIN if set (and then only that), else `etcd` on
 * PATH. Throws ETCD_MISSING_MESSAGE, naming where it looked, when there is none,
 * so a machine without etcd fails loudly instead of skipping tests.
 */
export async function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env["ETCD_BIN"];
  const candidates = explicit !== undefined && explicit !== ""
    ? [explicit]
    : (env["PATH"] ?? "").split(delimiter).filter((d) => d !== "").map((d) => join(d, "etcd"));
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) return candidate;
  }
  const where = explicit ? `ETCD_BIN=${explicit} is not an executable file` : "no etcd on PATH";
  throw new Error(`${ETCD_MISSING_MESSAGE} (${where})`);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
