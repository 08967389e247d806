/**
 * The configuration schema: one convict schema for the whole system. Every key
 * has a doc string (the README's configuration reference is generated from it
 * and kept in sync by a test), a default, a format and, where useful, an
 * environment variable. Secrets are `sensitive` and never printed.
 */

const MiB = 1024 * 1024;

export const configSchema = {
  namespace: {
    doc: "Namespace of this client's keys (model id, weights revision, dtype, tenant). Blocks of one namespace are never returned for another.",
    format: "namespace",
    default: "default",
    env: "DATENLORD_NAMESPACE",
  },
  nodeId: {
    doc: "This cache node's id in membership and descriptors; stable across restarts so a warm restart re-advertises its blocks. Empty: derived from host name and data port.",
    format: String,
    default: "",
    env: "DATENLORD_NODE_ID",
  },
  etcd: {
    endpoints: {
      doc: "etcd endpoints (comma-separated in the environment). Empty: embedded mode, metadata in process memory.",
      format: "endpoints",
      default: [] as string[],
      env: "DATENLORD_ETCD_ENDPOINTS",
    },
    rootPrefix: {
      doc: "Root of every key this system writes in etcd.",
      format: "etcdPrefix",
      default: "/datenlord/kvcache",
      env: "DATENLORD_ETCD_ROOT_PREFIX",
    },
    username: { doc: "etcd user (authentication off when empty).", format: String, default: "", env: "DATENLORD_ETCD_USERNAME" },
    password: { doc: "etcd password.", format: String, default: "", sensitive: true, env: "DATENLORD_ETCD_PASSWORD" },
    tls: {
      caFile: { doc: "PEM file of the CA that signed etcd's certificate (TLS off when all three are empty).", format: String, default: "", env: "DATENLORD_ETCD_TLS_CA_FILE" },
      certFile: { doc: "PEM client certificate for etcd.", format: String, default: "", env: "DATENLORD_ETCD_TLS_CERT_FILE" },
      keyFile: { doc: "PEM client private key for etcd.", format: String, default: "", env: "DATENLORD_ETCD_TLS_KEY_FILE" },
    },
    leaseTtlSeconds: { doc: "TTL of a node's membership lease, in seconds.", format: "positiveInt", default: 10, env: "DATENLORD_ETCD_LEASE_TTL_SECONDS" },
    requestTimeoutMs: { doc: "Deadline of one etcd request, in milliseconds.", format: "positiveInt", default: 5000, env: "DATENLORD_ETCD_REQUEST_TIMEOUT_MS" },
  },
  s3: {
    endpoint: {
      doc: "S3 endpoint URL (e.g. http://127.0.0.1:9000 for MinIO). Empty: no S3 tier; blocks evicted from disk are dropped.",
      format: "url",
      default: "",
      env: "DATENLORD_S3_ENDPOINT",
    },
    bucket: { doc: "Bucket holding spilled blocks (must exist).", format: "bucket", default: "datenlord-kvcache", env: "DATENLORD_S3_BUCKET" },
    prefix: { doc: "Key prefix of every object; objects are <prefix>/<namespace>/<block id>.", format: "s3Prefix", default: "blocks", env: "DATENLORD_S3_PREFIX" },
    region: { doc: "S3 region.", format: String, default: "us-east-1", env: "DATENLORD_S3_REGION" },
    accessKeyId: { doc: "S3 access key id.", format: String, default: "", sensitive: true, env: "DATENLORD_S3_ACCESS_KEY_ID" },
    secretAccessKey: { doc: "S3 secret access key.", format: String, default: "", sensitive: true, env: "DATENLORD_S3_SECRET_ACCESS_KEY" },
    forcePathStyle: { doc: "Path-style addressing (http://host/bucket/key), as MinIO needs.", format: Boolean, default: true, env: "DATENLORD_S3_FORCE_PATH_STYLE" },
    maxConcurrency: { doc: "Most S3 requests in flight at once from one process.", format: "positiveInt", default: 8, env: "DATENLORD_S3_MAX_CONCURRENCY" },
    multipartThresholdBytes: { doc: "Blocks at least this large upload as multipart, in parts of this size (min 5 MiB).", format: "partSize", default: 8 * MiB, env: "DATENLORD_S3_MULTIPART_THRESHOLD_BYTES" },
    requestTimeoutMs: { doc: "Deadline of one S3 request, in milliseconds.", format: "positiveInt", default: 30000, env: "DATENLORD_S3_REQUEST_TIMEOUT_MS" },
  },
  memory: {
    capacityBytes: { doc: "Capacity of the memory tier in bytes (block payloads).", format: "nat", default: 256 * MiB, env: "DATENLORD_MEMORY_CAPACITY_BYTES" },
    sharedDirectory: {
      doc: "Cache nodes: a memory file system (tmpfs) directory where the memory tier lives in one file, so SDKs on the same host read and write blocks there directly instead of over TCP (the file is mode 0600: same user only). A tmpfs mounted with huge=within_size makes those reads cheaper (README, \"Huge pages for the shared memory file\"). Empty: the memory tier stays private to the node process; so it does, with a logged warning, when the directory is missing or has less room than memory.capacityBytes.",
      format: String,
      default: "/dev/shm",
      env: "DATENLORD_MEMORY_SHARED_DIRECTORY",
    },
  },
  disk: {
    directory: { doc: "Directory of the disk (NVMe) tier; created if missing. Empty: no disk tier.", format: String, default: "data/disk", env: "DATENLORD_DISK_DIRECTORY" },
    capacityBytes: { doc: "Capacity of the disk tier in bytes (block payloads).", format: "nat", default: 1024 * MiB, env: "DATENLORD_DISK_CAPACITY_BYTES" },
  },
  limits: {
    maxKeyBytes: {
      doc: "Largest key, in encoded bytes (UTF-8, or 4 bytes per token). An insert sends the key to etcd three times and etcd caps a request at 1.5 MiB, so at most 384 KiB (393216).",
      format: "maxKeyBytes",
      default: 64 * 1024,
      env: "DATENLORD_MAX_KEY_BYTES",
    },
    maxBlockBytes: { doc: "Largest block payload, in bytes.", format: "positiveInt", default: 64 * MiB, env: "DATENLORD_MAX_BLOCK_BYTES" },
  },
  node: {
    host: { doc: "Address the node's data protocol listens on.", format: String, default: "127.0.0.1", env: "DATENLORD_NODE_HOST" },
    port: { doc: "Port of the node's data protocol (0: any free port).", format: "port", default: 7480, env: "DATENLORD_NODE_PORT" },
    advertiseAddress: { doc: "host:port other processes use to reach this node. Empty: host:port as bound.", format: String, default: "", env: "DATENLORD_NODE_ADVERTISE_ADDRESS" },
    adminHost: { doc: "Address of the admin HTTP server (/metrics, /healthz, /readyz, /dashboard).", format: String, default: "127.0.0.1", env: "DATENLORD_NODE_ADMIN_HOST" },
    adminPort: { doc: "Port of the admin HTTP server (0: any free port).", format: "port", default: 9480, env: "DATENLORD_NODE_ADMIN_PORT" },
    adminTls: {
      certFile: { doc: "PEM certificate of the admin (and metrics) HTTP servers: they serve https when this and keyFile are set.", format: String, default: "", env: "DATENLORD_NODE_ADMIN_TLS_CERT_FILE" },
      keyFile: { doc: "PEM private key of the admin (and metrics) HTTP servers.", format: String, default: "", env: "DATENLORD_NODE_ADMIN_TLS_KEY_FILE" },
    },
    metricsHost: {
      doc: "Address of a separate HTTP server for /metrics and /dashboard (the admin port then keeps only /healthz and /readyz). Empty: they are served on the admin port.",
      format: String,
      default: "",
      env: "DATENLORD_NODE_METRICS_HOST",
    },
    metricsPort: { doc: "Port of the separate metrics server when metricsHost is set (0: any free port).", format: "port", default: 9481, env: "DATENLORD_NODE_METRICS_PORT" },
    headerTimeoutMs: {
      doc: "A data-path frame header must arrive in full within this many milliseconds of its first byte; with auth.secret set, the HELLO (and with TLS, the handshake) within this of connecting. Slower clients are disconnected.",
      format: "positiveInt",
      default: 10000,
      env: "DATENLORD_NODE_HEADER_TIMEOUT_MS",
    },
    idleTimeoutMs: { doc: "A data-path connection with no request in hand and no bytes moving for this many milliseconds is closed.", format: "positiveInt", default: 300000, env: "DATENLORD_NODE_IDLE_TIMEOUT_MS" },
    maxConnections: { doc: "Most data-path connections a node accepts at once; more are refused.", format: "positiveInt", default: 1024, env: "DATENLORD_NODE_MAX_CONNECTIONS" },
  },
  auth: {
    secret: {
      doc: "Cluster shared secret (16 to 1024 bytes): nodes serve a data-path connection only after a HELLO carrying it (compared in constant time), SDKs send it. Empty: authentication off. It travels in the HELLO: enable tls on untrusted networks.",
      format: "secret",
      default: "",
      sensitive: true,
      env: "DATENLORD_AUTH_SECRET",
    },
  },
  tls: {
    enabled: { doc: "TLS on the data path: nodes serve it with certFile and keyFile, SDKs connect with it and verify nodes against caFile.", format: Boolean, default: false, env: "DATENLORD_TLS_ENABLED" },
    certFile: { doc: "PEM certificate a node serves the data path with (SDKs present it as a client certificate when set).", format: String, default: "", env: "DATENLORD_TLS_CERT_FILE" },
    keyFile: { doc: "PEM private key of certFile.", format: String, default: "", env: "DATENLORD_TLS_KEY_FILE" },
    caFile: { doc: "PEM CA bundle SDKs verify node certificates against. Empty: the system's CAs.", format: String, default: "", env: "DATENLORD_TLS_CA_FILE" },
    serverName: { doc: "Name SDKs expect in node certificates. Empty: the host of each node's advertised address.", format: String, default: "", env: "DATENLORD_TLS_SERVER_NAME" },
  },
  cluster: {
    replicas: { doc: "Copies of each new block, placed on distinct live nodes by rendezvous hashing.", format: "positiveInt", default: 1, env: "DATENLORD_REPLICAS" },
    requestTimeoutMs: { doc: "Deadline of one data-path request to a node; a dead node is never waited on longer.", format: "positiveInt", default: 2000, env: "DATENLORD_NODE_REQUEST_TIMEOUT_MS" },
    writeThrough: { doc: "Upload each new block to S3 right after insert (asynchronously) instead of only on eviction.", format: Boolean, default: false, env: "DATENLORD_WRITE_THROUGH" },
    sweepIntervalMs: { doc: "How often a node sweeps descriptors with no surviving copy and unreferenced S3 objects.", format: "positiveInt", default: 30000, env: "DATENLORD_SWEEP_INTERVAL_MS" },
    sweepGraceMs: { doc: "How long a holder must have been absent from membership before the sweep drops it.", format: "nat", default: 10000, env: "DATENLORD_SWEEP_GRACE_MS" },
  },
  sdk: {
    strict: { doc: "Throw typed errors from tryLoad on infrastructure failures instead of degrading to a miss.", format: Boolean, default: false, env: "DATENLORD_SDK_STRICT" },
    concurrency: { doc: "Most operations in flight at once in insertMany / tryLoadMany.", format: "positiveInt", default: 8, env: "DATENLORD_SDK_CONCURRENCY" },
    directS3Reads: {
      doc: "Cluster mode with s3.endpoint set: read a block no live node holds straight from S3 (one hop, where nodes advertise their layout) instead of through a node, which would also cache it.",
      format: Boolean, default: true, env: "DATENLORD_SDK_DIRECT_S3_READS",
    },
    sharedMemory: {
      doc: "Cluster mode: move block bytes through the shared memory file of a cache node on the same host (memory.sharedDirectory on the node) with one file read or write, instead of over TCP. Nodes elsewhere, or whose file this process cannot open, are reached over TCP either way.",
      format: Boolean, default: true, env: "DATENLORD_SDK_SHARED_MEMORY",
    },
    locationHintBytes: {
      doc: "Cluster mode: bytes of recent lookup answers (keys and where their blocks are) a client keeps, to copy the block a load will most likely get from a same-host node's shared memory file while etcd answers the lookup. A load still returns only the block etcd's answer names; a wrong guess costs one copy. 0 turns read-ahead off.",
      format: "nat", default: 8 * MiB, env: "DATENLORD_SDK_LOCATION_HINT_BYTES",
    },
  },
} as const;
