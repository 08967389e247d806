import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { findEtcdBinary } from "./etcd-binary.js";

const run = promisify(execFile);

/**
 * Makes sure an etcd binary exists before the suite starts one. On a Debian
 * machine where we are root (a fresh CI box, a dev container) a missing etcd is
 * installed with apt-get; anywhere else, or when ETCD_BIN names a path, the
 * "etcd not found" error from findEtcdBinary stands, saying how to fix it.
 */
export async function ensureEtcdInstalled(log: (line: string) => void = console.log): Promise<string> {
  try {
    return await findEtcdBinary();
  } catch (err) {
    if (!canAptInstall()) throw err;
  }
  log("etcd not found: installing etcd-server with apt-get (root on Debian)");
  await aptInstall("etcd-server");
  return findEtcdBinary();
}

function canAptInstall(): boolean {
  return (process.env["ETCD_BIN"] ?? "") === "" && rootOnDebian();
}

function rootOnDebian(): boolean {
  return process.getuid?.() === 0 && existsSync("/etc/debian_version") && existsSync("/usr/bin/apt-get");
}

/**
 * Installs Debian package `pkg` when `binary` is missing and we are root on
 * Debian (chromium for the dashboard test, openssl for the TLS tests), so
 * `npm test` passes on a fresh machine. Elsewhere it does nothing: the test that
 * needs the binary fails with its own install hint.
 */
export async function ensureDebianPackage(binary: string, pkg: string, log: (line: string) => void = console.log): Promise<void> {
  if (existsSync(binary) || !rootOnDebian()) return;
  log(`${binary} not found: installing ${pkg} with apt-get (root on Debian)`);
  await aptInstall(pkg);
}

async function aptInstall(pkg: string): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run("apt-get", ["update", "-qq"], { env, maxBuffer: 64 * 1024 * 1024 });
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", pkg], { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`apt-get install ${pkg} failed: ${stderr.slice(-2000)}`, { cause: err });
  }
}
