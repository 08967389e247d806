import { ErrorCode, isKvCacheError } from "../errors.js";

/** The CLI's exit codes (documented in `datenlordsdk --help`). */
export const Exit = {
  OK: 0,
  /** get: no stored prefix; a lookup that found nothing. */
  MISS: 1,
  /** Bad command line, or input the cache refuses (empty or oversized key, oversized block). */
  USAGE: 2,
  /** The configuration (file, environment) failed validation. */
  CONFIG: 3,
  /** etcd, S3 or the cache nodes failed or could not be reached. */
  INFRASTRUCTURE: 4,
} as const;

export type Exit = (typeof Exit)[keyof typeof Exit];

/** Thrown by command parsing; printed with the command's usage line. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

const INPUT_ERRORS: ReadonlySet<string> = new Set<string>([
  ErrorCode.KEY_EMPTY, ErrorCode.KEY_TOO_LARGE, ErrorCode.INVALID_KEY,
  ErrorCode.BLOCK_TOO_LARGE, ErrorCode.INVALID_DATA, ErrorCode.INVALID_ARGUMENT,
]);

/** The exit code an error ends the process with. */
export function exitCodeOf(err: unknown): Exit {
  if (err instanceof UsageError) return Exit.USAGE;
  if (isKvCacheError(err)) {
    if (err.code === ErrorCode.CONFIG_INVALID) return Exit.CONFIG;
    if (INPUT_ERRORS.has(err.code)) return Exit.USAGE;
  }
  return Exit.INFRASTRUCTURE;
}
