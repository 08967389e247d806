/**
 * Structured logging for server processes: one JSON object per line with
 * `time`, `level`, `msg` and the given fields. The SDK library never logs.
 */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

type Level = "debug" | "info" | "warn" | "error";
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  /** Where lines go (default process.stderr). */
  readonly write?: (line: string) => void;
  /** Fields added to every line (e.g. nodeId). */
  readonly base?: LogFields;
  /** Lines below this level are dropped (default "info"). */
  readonly level?: Level;
}

export function jsonLogger(options: JsonLoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const min = RANK[options.level ?? "info"];
  const base = options.base ?? {};
  const log = (level: Level) => (msg: string, fields: LogFields = {}): void => {
    if (RANK[level] < min) return;
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...serializeFields(fields) })}\n`);
  };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

/** Errors become {code, message, details} (JSON.stringify would drop them to {}). */
function serializeFields(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = v instanceof Error ? describeError(v) : v;
  return out;
}

export function describeError(err: Error): Record<string, unknown> {
  const { code, details } = err as Error & { code?: unknown; details?: unknown };
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return { name: err.name, message: err.message, ...(code === undefined ? {} : { code }), ...(details === undefined ? {} : { details }), ...(cause === undefined ? {} : { cause }) };
}

/** A logger that drops everything (tests, embedded use). */
export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
