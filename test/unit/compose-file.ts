import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";

/** The parts of a docker-compose service this project uses. */
export interface ComposeService {
  readonly image?: string;
  readonly build?: string;
  readonly command?: string | string[];
  readonly entrypoint?: string;
  readonly restart?: string;
  readonly environment?: Readonly<Record<string, string>>;
  readonly ports?: readonly string[];
  readonly volumes?: readonly string[];
  readonly depends_on?: Readonly<Record<string, { readonly condition: string }>>;
  readonly healthcheck?: { readonly test: readonly string[] };
}

export interface ComposeFile {
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes: Readonly<Record<string, unknown>>;
}

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function repoPath(relative: string): string {
  return join(ROOT, relative);
}

/** docker-compose.yml with YAML merge keys (`<<: *node`) resolved; throws on any YAML error or warning. */
export function loadCompose(): ComposeFile {
  return parseYaml<ComposeFile>("docker-compose.yml");
}

export function parseYaml<T>(relative: string): T {
  const doc = parseDocument(readFileSync(repoPath(relative), "utf8"), { merge: true, uniqueKeys: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) throw new Error(`${relative}: ${problems.map((p) => p.message).join("; ")}`);
  return doc.toJS({ maxAliasCount: 100 }) as T;
}

/** "host:container" port mappings as numbers. */
export function portMappings(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((p) => {
    const m = /^(\d+):(\d+)$/.exec(p);
    if (m === null) throw new Error(`port mapping ${p} is not host:container`);
    return { host: Number(m[1]), container: Number(m[2]) };
  });
}

/** Volume entries split into bind mounts of repository paths and named volumes. */
export function mounts(service: ComposeService): { binds: { source: string; target: string }[]; named: { name: string; target: string }[] } {
  const binds: { source: string; target: string }[] = [];
  const named: { name: string; target: string }[] = [];
  for (const v of service.volumes ?? []) {
    const [source, target] = v.split(":") as [string, string];
    if (source.startsWith("./")) binds.push({ source: source.slice(2), target });
    else named.push({ name: source, target });
  }
  return { binds, named };
}

/** A JSON-array instruction of the Dockerfile (CMD, ENTRYPOINT). */
export function dockerfileArray(instruction: "CMD" | "ENTRYPOINT"): string[] {
  const line = readFileSync(repoPath("Dockerfile"), "utf8").split("\n").filter((l) => l.startsWith(`${instruction} `)).at(-1);
  if (line === undefined) throw new Error(`Dockerfile has no ${instruction}`);
  return JSON.parse(line.slice(instruction.length + 1)) as string[];
}

/** Source paths of the Dockerfile's COPY instructions from the build context (not --from stages). */
export function dockerfileCopySources(): string[] {
  return readFileSync(repoPath("Dockerfile"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("COPY ") && !l.includes("--from="))
    .flatMap((l) => l.slice(5).trim().split(/\s+/).slice(0, -1));
}

/**
 * A cache node service's configuration as the container sees it: the file
 * named by `--config` in its command (the Dockerfile's CMD by default), read
 * from the repository file bind-mounted there, and its environment.
 */
export function nodeServiceConfig(compose: ComposeFile, name: string): { repoFile: string; file: Record<string, unknown>; env: Record<string, string> } {
  const service = compose.services[name]!;
  const command = typeof service.command === "string" ? service.command.split(/\s+/) : (service.command ?? dockerfileArray("CMD"));
  const containerPath = command[command.indexOf("--config") + 1];
  const bind = mounts(service).binds.find((b) => b.target === containerPath);
  if (bind === undefined) throw new Error(`${name}: no bind mount provides its --config ${String(containerPath)}`);
  const file = JSON.parse(readFileSync(repoPath(bind.source), "utf8")) as Record<string, unknown>;
  return { repoFile: bind.source, file, env: { ...service.environment } };
}
