import { readFileSync } from "node:fs";
import { ErrorCode, KvCacheError } from "./errors.js";

/**
 * Reads a PEM file named by the configuration key `key`, once, at start-up.
 * An unreadable file is ERR_CONFIG_INVALID naming the key and the file; the
 * file's contents never appear in a message.
 */
export function readPemFile(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KvCacheError(ErrorCode.CONFIG_INVALID, `cannot read ${key} ${file}: ${(err as Error).message}`, { cause: err, details: { keys: [key], file } });
  }
}

/** ERR_CONFIG_INVALID for keys that must be set together (`why` says for what). */
export function missingKeys(keys: readonly string[], why: string): KvCacheError {
  return new KvCacheError(ErrorCode.CONFIG_INVALID, `${why} needs ${keys.join(" and ")}`, { details: { keys } });
}
