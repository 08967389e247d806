import { pathToFileURL } from "node:url";
import { loadConfig, type ConfigOverrides } from "../config.js";
import { CacheNode } from "./cache-node.js";
import { jsonLogger, type Logger } from "./logger.js";

export interface RunNodeOptions {
  /** JSON config file; environment variables (DATENLORD_*) apply under it. */
  readonly configPath?: string;
  readonly overrides?: ConfigOverrides;
  readonly env?: NodeJS.ProcessEnv;
  readonly logger?: Logger;
  /** Install SIGTERM / SIGINT handlers that close the node and exit (default true). */
  readonly handleSignals?: boolean;
}

/**
 * Runs a cache node as a process: loads the config, starts the node, prints one
 * JSON line `{"event":"ready","nodeId","address","adminAddress","metricsAddress","pid"}` on
 * stdout (ports bound to 0 are known from it), and on SIGTERM or SIGINT closes
 * gracefully (drain, leave membership) and exits 0. A second signal exits at once.
 */
export async function runNode(options: RunNodeOptions = {}): Promise<CacheNode> {
  const config = loadConfig({ file: options.configPath, overrides: options.overrides, env: options.env });
  const logger = options.logger ?? jsonLogger({ base: { nodeId: config.nodeId || undefined } });
  const node = await CacheNode.start({ config, logger });
  const ready = { event: "ready", nodeId: node.nodeId, address: node.address, adminAddress: node.adminAddress, metricsAddress: node.metricsAddress, pid: process.pid };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  if (options.handleSignals !== false) exitOnSignals(node, logger);
  return node;
}

function exitOnSignals(node: CacheNode, logger: Logger): void {
  let received = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (received) {
      logger.warn("second signal; exiting without finishing shutdown", { signal });
      process.exit(1);
    }
    received = true;
    logger.info("signal received; shutting down", { signal });
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error("shutdown failed", { err });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/** `--config <path>` from argv; undefined when absent. */
export function configPathFromArgs(args: readonly string[]): string | undefined {
  const at = args.findIndex((a) => a === "--config" || a === "-c");
  if (at >= 0) return args[at + 1];
  return args.find((a) => a.startsWith("--config="))?.slice("--config=".length);
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  runNode({ configPath: configPathFromArgs(process.argv.slice(2)) }).catch((err: unknown) => {
    jsonLogger().error("cache node failed to start", { err: err instanceof Error ? err : new Error(String(err)) });
    process.exit(1);
  });
}
