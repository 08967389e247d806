import { readFile, writeFile } from "node:fs/promises";
import { DatenLordSDK, type KvCacheClient } from "../../sdk/index.js";
import type { CacheKey } from "../keys.js";
import { Exit, UsageError } from "./exit-codes.js";
import { line, readAll, writeOut, type CliIo } from "./io.js";

/** What a data command gets from the command line. */
export interface DataCommand {
  readonly io: CliIo;
  readonly configPath: string | undefined;
  readonly positionals: readonly string[];
  readonly tokens: boolean;
  readonly overwrite: boolean;
}

/**
 * Runs `fn` on a client of a fresh SDK, closed afterwards. Strict mode, so an
 * infrastructure failure is an error (exit 4), never a silent miss (exit 1).
 */
async function withClient<T>(cmd: DataCommand, fn: (client: KvCacheClient) => Promise<T>): Promise<T> {
  const sdk = new DatenLordSDK({ configPath: cmd.configPath, options: { sdk: { strict: true } } });
  try {
    return await fn(await sdk.connect());
  } finally {
    await sdk.close();
  }
}

export async function putCommand(cmd: DataCommand): Promise<Exit> {
  const [keyText, source] = expectArgs(cmd.positionals, 2, 2, "put needs <key> and <file|->");
  const key = parseKey(keyText, cmd.tokens);
  const data = source === "-" ? await readAll(cmd.io.stdin) : await readInput(source!);
  return withClient(cmd, async (client) => {
    if (client.mode === "embedded") line(cmd.io.stderr, "warning: embedded mode (no etcd endpoints configured): the block lives only as long as this process");
    const { inserted } = await client.insert(key, data, { overwrite: cmd.overwrite });
    line(cmd.io.stderr, inserted ? `stored ${data.length} bytes under ${keyText}` : `${keyText} already exists; left as it is (use --overwrite to replace)`);
    return Exit.OK;
  });
}

export async function getCommand(cmd: DataCommand): Promise<Exit> {
  const [prefixText, out] = expectArgs(cmd.positionals, 1, 2, "get needs <prefix> and optionally [out]");
  const query = parseKey(prefixText, cmd.tokens);
  return withClient(cmd, async (client) => {
    const hit = await client.tryLoad(query);
    if (hit === null) {
      line(cmd.io.stderr, `miss: no stored prefix of ${prefixText}`);
      return Exit.MISS;
    }
    line(cmd.io.stderr, `matched prefix: ${formatKey(hit.matchedPrefix)} (${hit.data.length} bytes)`);
    if (out === undefined) await writeOut(cmd.io.stdout, hit.data);
    else await writeFile(out, hit.data);
    return Exit.OK;
  });
}

export async function statsCommand(cmd: DataCommand): Promise<Exit> {
  expectArgs(cmd.positionals, 0, 0, "stats takes no arguments");
  return withClient(cmd, async (client) => {
    const stats = await client.stats();
    const nodes = stats.nodes.map((n) => ("error" in n ? { nodeId: n.nodeId, error: { code: n.error.code, message: n.error.message } } : n));
    line(cmd.io.stdout, JSON.stringify({ ...stats, nodes }, null, 2));
    return Exit.OK;
  });
}

export async function nodesCommand(cmd: DataCommand): Promise<Exit> {
  expectArgs(cmd.positionals, 0, 0, "nodes takes no arguments");
  return withClient(cmd, async (client) => {
    const nodes = await client.nodes();
    if (nodes.length === 0) line(cmd.io.stderr, "no live cache nodes");
    for (const n of nodes) line(cmd.io.stdout, [n.nodeId, n.address, n.adminAddress || "-", new Date(n.startedAt).toISOString()].join("\t"));
    return Exit.OK;
  });
}

/** The positionals, after checking their count; optional ones past the end are undefined. */
function expectArgs(args: readonly string[], min: number, max: number, what: string): (string | undefined)[] {
  if (args.length < min || args.length > max) throw new UsageError(`${what} (got ${args.length} argument(s))`);
  return [...args];
}

/** A key from the command line: the text itself, or with --tokens a comma-separated list of token ids. */
export function parseKey(text: string | undefined, tokens: boolean): CacheKey {
  if (text === undefined) throw new UsageError("missing key");
  if (!tokens) return text;
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--tokens key must be comma-separated token ids, e.g. 1,2,3; got ${JSON.stringify(text)}`);
  return parts.map(Number);
}

function formatKey(key: CacheKey): string {
  return typeof key === "string" ? key : Array.from(key).join(",");
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}
