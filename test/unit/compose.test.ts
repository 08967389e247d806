import { existsSync, readFileSync, statSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { configSchema } from "../../src/config-schema.js";
import { NodeMetrics } from "../../src/metrics.js";
import { dockerfileArray, dockerfileCopySources, loadCompose, mounts, nodeServiceConfig, parseYaml, portMappings, repoPath, type ComposeFile } from "./compose-file.js";

const compose = loadCompose();
const NODES = ["node1", "node2"];
const ETCDS = ["etcd1", "etcd2", "etcd3"];

describe("docker-compose.yml", () => {
  it("declares the cluster: 3 etcd members, MinIO and its bucket, 2 nodes, Prometheus, Grafana; images pinned", () => {
    expect(Object.keys(compose.services).sort()).toEqual([...ETCDS, "createbucket", "grafana", "minio", ...NODES, "prometheus"].sort());
    for (const [name, s] of Object.entries(compose.services)) {
      expect(s.image ?? s.build, name).toBeDefined();
      if (s.build === undefined) expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      if (s.build === undefined) expect(s.image, name).not.toMatch(/:latest$/);
    }
  });

  it("builds the nodes from the repository: the Dockerfile's sources exist and its entry point is the CLI", () => {
    for (const name of NODES) expect(compose.services[name]!.build, name).toBe(".");
    for (const source of dockerfileCopySources()) expect(existsSync(repoPath(source)), `Dockerfile COPY ${source}`).toBe(true);
    expect(dockerfileArray("ENTRYPOINT")).toEqual(["node", "dist/src/cli.js"]);
    expect(existsSync(repoPath("src/cli.ts"))).toBe(true);
    expect(dockerfileArray("CMD").slice(0, 2)).toEqual(["node", "--config"]);
  });

  it("forms one 3-member etcd cluster, each member advertising its own service name", () => {
    const initial = ETCDS.map((n) => `${n}=http://${n}:2380`).join(",");
    for (const name of ETCDS) {
      const args = flags(compose.services[name]!.command);
      expect(args["--name"], name).toBe(name);
      expect(args["--advertise-client-urls"], name).toBe(`http://${name}:2379`);
      expect(args["--initial-advertise-peer-urls"], name).toBe(`http://${name}:2380`);
      expect(args["--initial-cluster"], name).toBe(initial);
      expect(args["--listen-client-urls"], name).toBe("http://0.0.0.0:2379");
      expect(mounts(compose.services[name]!).named.map((v) => v.target), name).toEqual([args["--data-dir"]]);
    }
  });

  it("maps unique host ports, each documented in the header, onto the ports the services listen on", () => {
    const header = readFileSync(repoPath("docker-compose.yml"), "utf8").split("\n").filter((l) => l.startsWith("#")).join("\n");
    const hostPorts = Object.values(compose.services).flatMap((s) => portMappings(s).map((p) => p.host));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
    for (const port of hostPorts) expect(header, `host port ${port}`).toContain(String(port));
    const node = loadConfig({ file: repoPath("config/compose-node.json"), env: {} }).node;
    const listening: Record<string, number[]> = {
      etcd1: [2379], etcd2: [2379], etcd3: [2379], minio: [9000, 9001], prometheus: [9090], grafana: [3000],
      node1: [node.port, node.adminPort], node2: [node.port, node.adminPort],
    };
    for (const [name, ports] of Object.entries(listening)) expect(portMappings(compose.services[name]!).map((p) => p.container), name).toEqual(ports);
    expect(portMappings(compose.services["node1"]!).map((p) => p.host)).toEqual([7481, 9481]);
    expect(portMappings(compose.services["node2"]!).map((p) => p.host)).toEqual([7482, 9482]);
  });

  it("declares every named volume it uses, uses every one it declares, and bind-mounts only repository paths that exist", () => {
    const used = Object.values(compose.services).flatMap((s) => mounts(s).named.map((v) => v.name));
    expect(new Set(used)).toEqual(new Set(Object.keys(compose.volumes)));
    const binds = Object.values(compose.services).flatMap((s) => mounts(s).binds);
    expect(binds.map((b) => b.source).sort()).toEqual(["config/compose-node.json", "config/compose-node.json", "grafana/dashboards", "grafana/provisioning", "prometheus/prometheus.yml"]);
    for (const b of binds) expect(existsSync(repoPath(b.source)), b.source).toBe(true);
  });

  it("orders start-up: depends_on names existing services, with the health check or one-shot its condition needs, and no cycle", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        const target = compose.services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        if (condition === "service_healthy") expect(target!.healthcheck?.test.length, `${dep} health check`).toBeGreaterThan(0);
        else expect(condition, `${name} → ${dep}`).toBe(dep === "createbucket" ? "service_completed_successfully" : "service_started");
      }
    }
    expect(compose.services["createbucket"]!.restart).toBeUndefined();
    expect(startOrder(compose)).toHaveLength(Object.keys(compose.services).length);
    const order = startOrder(compose);
    for (const [before, after] of [["etcd1", "node1"], ["createbucket", "node1"], ["node2", "prometheus"], ["prometheus", "grafana"]]) {
      expect(order.indexOf(before!), `${before} before ${after}`).toBeLessThan(order.indexOf(after!));
    }
  });

  it("gives each node a valid config: the mounted compose-node.json under the compose environment, naming the compose services", () => {
    const envNames = schemaEnvNames(configSchema);
    const minio = compose.services["minio"]!.environment!;
    const bucket = /mc mb --ignore-existing local\/([\w.-]+)/.exec(String(compose.services["createbucket"]!.entrypoint))?.[1];
    for (const name of NODES) {
      const { repoFile, env } = nodeServiceConfig(compose, name);
      expect(repoFile).toBe("config/compose-node.json");
      for (const key of Object.keys(env)) expect(envNames, `${name}: ${key} is a config variable`).toContain(key);
      const config = loadConfig({ file: repoPath(repoFile), env });
      expect(config.nodeId).toBe(name);
      expect(config.node.advertiseAddress).toBe(`${name}:${config.node.port}`);
      expect(config.node.adminHost).toBe("0.0.0.0");
      expect(config.etcd.endpoints).toEqual(ETCDS.map((e) => `http://${e}:2379`));
      expect(config.s3.endpoint).toBe("http://minio:9000");
      expect([config.s3.accessKeyId, config.s3.secretAccessKey]).toEqual([minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"]]);
      expect(config.s3.bucket).toBe(bucket);
      const disk = mounts(compose.services[name]!).named.find((v) => config.disk.directory.startsWith(`${v.target}/`));
      expect(disk?.name, `${name}'s disk tier is on a volume`).toBe(`${name}-disk`);
    }
  });

  it("has Prometheus scrape both nodes' admin ports with the mounted prometheus.yml", () => {
    const prometheus = compose.services["prometheus"]!;
    const configPath = (prometheus.command as string[]).find((a) => a.startsWith("--config.file="))!.split("=")[1];
    expect(mounts(prometheus).binds).toContainEqual({ source: "prometheus/prometheus.yml", target: configPath });
    const config = parseYaml<{ scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[] }>("prometheus/prometheus.yml");
    const adminPort = loadConfig({ file: repoPath("config/compose-node.json"), env: {} }).node.adminPort;
    const job = config.scrape_configs.find((j) => j.job_name === "datenlord")!;
    expect(job.metrics_path).toBe("/metrics");
    expect(job.static_configs.flatMap((c) => c.targets)).toEqual(NODES.map((n) => `${n}:${adminPort}`));
  });

  it("provisions Grafana with the Prometheus datasource and the dashboard, whose queries name only metrics a node exports", async () => {
    const grafana = compose.services["grafana"]!;
    const target = (source: string): string | undefined => mounts(grafana).binds.find((b) => b.source === source)?.target;
    expect(target("grafana/provisioning")).toBe("/etc/grafana/provisioning");
    const datasources = parseYaml<{ datasources: { uid: string; type: string; url: string }[] }>("grafana/provisioning/datasources/prometheus.yml").datasources;
    expect(datasources).toEqual([expect.objectContaining({ uid: "prometheus", type: "prometheus", url: `http://prometheus:${portMappings(compose.services["prometheus"]!)[0]!.container}` })]);
    const providers = parseYaml<{ providers: { options: { path: string } }[] }>("grafana/provisioning/dashboards/datenlord.yml").providers;
    expect(providers.map((p) => p.options.path)).toEqual([target("grafana/dashboards")]);
    expect(grafana.environment!["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]).toBe(`${target("grafana/dashboards")}/datenlord.json`);
    expect(statSync(repoPath("grafana/dashboards/datenlord.json")).isFile()).toBe(true);

    const dashboard = JSON.parse(readFileSync(repoPath("grafana/dashboards/datenlord.json"), "utf8")) as GrafanaDashboard;
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const exported = await exportedNames();
    for (const panel of dashboard.panels) {
      expect(panel.datasource.uid, panel.title).toBe("prometheus");
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const name of panel.targets.flatMap((t) => t.expr.match(/\bkvcache_\w+/g) ?? [])) expect(exported, `${panel.title}: ${name}`).toContain(name);
    }
    const shown = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bkvcache_\w+/g) ?? [])));
    for (const name of ["kvcache_requests_total", "kvcache_op_duration_seconds", "kvcache_tier_hits_total", "kvcache_tier_misses_total", "kvcache_tier_bytes", "kvcache_tier_capacity_bytes", "kvcache_tier_items", "kvcache_block_moves_total", "kvcache_checksum_failures_total", "kvcache_backend_errors_total", "kvcache_live_nodes"]) {
      expect([...shown].some((s) => s === name || s.startsWith(`${name}_`)), name).toBe(true);
    }
  });
});

interface GrafanaDashboard {
  readonly panels: { id: number; title: string; datasource: { uid: string }; targets: { expr: string }[] }[];
}

/** Every series name a node's registry exposes (histograms with their _bucket, _sum and _count). */
async function exportedNames(): Promise<string[]> {
  const metrics = await new NodeMetrics().registry.getMetricsAsJSON();
  return metrics.flatMap((m) => (String(m.type) === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : String(m.type) === "summary" ? [m.name, `${m.name}_sum`, `${m.name}_count`] : [m.name]));
}

/** `--flag value` pairs of a command line. */
function flags(command: ComposeFile["services"][string]["command"]): Record<string, string> {
  const words = typeof command === "string" ? command.split(/\s+/) : [...(command ?? [])];
  const out: Record<string, string> = {};
  for (let i = 0; i < words.length; i++) if (words[i]!.startsWith("--")) out[words[i]!] = words[i + 1]!;
  return out;
}

/** Services in an order that respects depends_on (Kahn); shorter than the service list when there is a cycle. */
function startOrder(file: ComposeFile): string[] {
  const order: string[] = [];
  const pending = new Map(Object.entries(file.services).map(([n, s]) => [n, new Set(Object.keys(s.depends_on ?? {}))]));
  for (let progressed = true; progressed; ) {
    progressed = false;
    for (const [name, deps] of pending) {
      if ([...deps].every((d) => order.includes(d))) {
        order.push(name);
        pending.delete(name);
        progressed = true;
      }
    }
  }
  return order;
}

function schemaEnvNames(schema: object): string[] {
  return Object.values(schema).flatMap((v: unknown) => {
    if (v === null || typeof v !== "object") return [];
    const env = (v as { env?: unknown }).env;
    return typeof env === "string" ? [env] : schemaEnvNames(v);
  });
}
