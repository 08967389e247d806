import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { isKvCacheError } from "../errors.js";
import { getCommand, nodesCommand, putCommand, statsCommand, type DataCommand } from "./data-commands.js";
import { Exit, UsageError, exitCodeOf } from "./exit-codes.js";
import { COMMAND_HELP, OVERVIEW } from "./help.js";
import { line, processIo, type CliIo } from "./io.js";

type Flags = { config?: string; help?: boolean; version?: boolean; tokens?: boolean; overwrite?: boolean };

const COMMON = { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } } as const;
const OPTIONS = {
  node: COMMON,
  put: { ...COMMON, tokens: { type: "boolean" }, overwrite: { type: "boolean" } },
  get: { ...COMMON, tokens: { type: "boolean" } },
  stats: COMMON,
  nodes: COMMON,
} as const;
type Command = keyof typeof OPTIONS;

/** Runs one command line and resolves its exit code; every failure is reported on stderr. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<Exit> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    report(err, argv[0], io);
    return exitCodeOf(err);
  }
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<Exit> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "-h" || name === "--help" || name === "help") return help(io, rest[0]);
  if (name === "--version") return version(io);
  if (!isCommand(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands: ${Object.keys(OPTIONS).join(", ")}`);
  const { values, positionals } = parse(name, rest);
  if (values.help) return help(io, name);
  if (name === "node") {
    if (positionals.length > 0) throw new UsageError(`node takes no arguments (got ${positionals.join(" ")})`);
    // Imported on demand: the data commands need not load the node's servers and tiers.
    const { nodeCommand } = await import("./node-command.js");
    return nodeCommand(values.config, io);
  }
  const cmd: DataCommand = { io, configPath: values.config, positionals, tokens: values.tokens ?? false, overwrite: values.overwrite ?? false };
  return { put: putCommand, get: getCommand, stats: statsCommand, nodes: nodesCommand }[name](cmd);
}

function parse(name: Command, args: readonly string[]): { values: Flags; positionals: string[] } {
  try {
    return parseArgs({ args: [...args], options: OPTIONS[name], allowPositionals: true, strict: true }) as { values: Flags; positionals: string[] };
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

function isCommand(name: string): name is Command {
  return Object.hasOwn(OPTIONS, name);
}

function help(io: CliIo, command: string | undefined): Exit {
  if (command !== undefined && !isCommand(command)) throw new UsageError(`no help for unknown command ${JSON.stringify(command)}`);
  line(io.stdout, command === undefined ? OVERVIEW : COMMAND_HELP[command]!);
  return Exit.OK;
}

function version(io: CliIo): Exit {
  const pkg = JSON.parse(readFileSync(new URL(packageJsonPath(), import.meta.url), "utf8")) as { version: string };
  line(io.stdout, pkg.version);
  return Exit.OK;
}

/** src/cli/main.ts and dist/src/cli/main.js sit at different depths below package.json. */
function packageJsonPath(): string {
  return import.meta.url.includes("/dist/") ? "../../../package.json" : "../../package.json";
}

function report(err: unknown, command: string | undefined, io: CliIo): void {
  if (err instanceof UsageError) {
    line(io.stderr, `error: ${err.message}`);
    const usage = command !== undefined && isCommand(command) ? COMMAND_HELP[command]!.split("\n")[0]! : "Usage: datenlordsdk <command> [options]";
    line(io.stderr, `${usage}\n(see datenlordsdk --help)`);
  } else if (isKvCacheError(err)) {
    line(io.stderr, `error [${err.code}]: ${err.message}`);
  } else {
    line(io.stderr, `error: ${err instanceof Error ? err.message : String(err)}`);
  }
}
