// Builds src/native (the CRC and mapped-read fast path, see src/native.ts) with
// node-gyp. Run by `npm install` (the package's install script) and by
// `npm run build:native`. Without a C compiler, Python or Node's headers the
// build fails; from `npm install` that is a warning and the install goes on
// (everything works without the addon, shared-memory reads and checksums only
// slower), with --strict it is an error.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const strict = process.argv.includes("--strict");
const directory = fileURLToPath(new URL("../src/native/", import.meta.url));
// npm tells its scripts where its own node-gyp is; otherwise one on PATH.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, "rebuild"]] : ["node-gyp", ["rebuild"]];
// Node's own headers when it was installed with them (Debian's nodejs, the official tarballs):
// otherwise node-gyp downloads them, which needs the internet.
const prefix = path.resolve(path.dirname(process.execPath), "..");
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, "include/node/common.gypi"))) args.push(`--nodedir=${prefix}`);
const result = spawnSync(command, args, { cwd: directory, stdio: ["ignore", "inherit", "inherit"] });
if (result.status !== 0) {
  const why = result.error?.message ?? `exit code ${result.status ?? result.signal}`;
  const message = `datenlordsdk: the native fast path (src/native) did not build (${why}). It needs python3, make, a C compiler and Node's headers (Debian: apt-get install -y python3 make g++). Without it everything works; shared-memory reads and checksums are slower.`;
  console.error(message);
  process.exit(strict ? 1 : 0);
}
