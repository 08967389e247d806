/** Help texts: one per command, plus the overview. */

export const OVERVIEW = `Usage: datenlordsdk <command> [options]

A distributed KV cache for LLM inference.

Commands:
  node    run a cache node (memory / disk / S3 tiers, data protocol, admin HTTP)
  put     store a block under a key
  get     load the block of the longest stored prefix of a key
  stats   tier sizes of every live node (JSON)
  nodes   list the live cache nodes

Options (every command):
  -c, --config <file>   JSON config file (see config/); DATENLORD_* variables apply too
  -h, --help            show help (also: datenlordsdk <command> --help)
      --version         print the version

Exit codes: 0 ok, 1 miss / not found, 2 usage error or refused input,
3 configuration error, 4 infrastructure error (etcd, S3, nodes unreachable).`;

export const COMMAND_HELP: Readonly<Record<string, string>> = {
  node: `Usage: datenlordsdk node [--config <file>]

Runs a cache node until SIGINT or SIGTERM: registers in etcd (cluster mode),
serves the data protocol on node.host:node.port and /metrics, /healthz,
/readyz, /dashboard on node.adminHost:node.adminPort.`,
  put: `Usage: datenlordsdk put <key> <file|-> [--config <file>] [--tokens] [--overwrite]

Stores the contents of <file> (or standard input for "-") under <key>.
An existing key is left as it is (exit 0) unless --overwrite.
  --tokens      <key> is a comma-separated list of token ids (e.g. 1,2,3)
  --overwrite   replace the key's block if it has one`,
  get: `Usage: datenlordsdk get <prefix> [out] [--config <file>] [--tokens]

Loads the block of the longest stored key that is a prefix of <prefix>, writes
it to [out] (or standard output) and prints the matched prefix to standard
error. Exit 1 on a miss.
  --tokens      <prefix> is a comma-separated list of token ids`,
  stats: `Usage: datenlordsdk stats [--config <file>]

Prints the tier sizes of every live node as JSON.`,
  nodes: `Usage: datenlordsdk nodes [--config <file>]

Lists the live cache nodes: id, data address, admin address, start time.`,
};
