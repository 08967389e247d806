import { runNode } from "../node/main.js";
import { Exit } from "./exit-codes.js";
import type { CliIo } from "./io.js";

/**
 * `datenlordsdk node`: starts a cache node and returns once it is ready. The
 * node's servers keep the process alive; its signal handlers close it
 * gracefully on SIGTERM / SIGINT and exit. A bad config rejects (exit 3), an
 * unreachable etcd or S3 too (exit 4).
 */
export async function nodeCommand(configPath: string | undefined, _io: CliIo): Promise<Exit> {
  await runNode({ configPath });
  return Exit.OK;
}
