import { configSchema } from "./config-schema.js";

/**
 * The configuration reference, generated from the schema: the README's table
 * (between the config-reference markers) and config/default.json are both made
 * from here, and a test keeps them in sync.
 */
interface SchemaLeaf {
  readonly doc: string;
  readonly default: unknown;
  readonly env?: string;
  readonly sensitive?: boolean;
}

export interface ConfigKeyDoc extends SchemaLeaf {
  readonly path: string;
}

/** Every leaf key of the schema, depth first, with its dotted path. */
export function configKeys(node: object = configSchema, prefix = ""): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  for (const [name, value] of Object.entries(node)) {
    const path = prefix === "" ? name : `${prefix}.${name}`;
    if (isLeaf(value)) out.push({ path, ...value });
    else out.push(...configKeys(value as object, path));
  }
  return out;
}

function isLeaf(value: unknown): value is SchemaLeaf {
  return typeof value === "object" && value !== null && "doc" in value && "default" in value;
}

/** The Markdown table of every key: path, default, environment variable, meaning. */
export function configReferenceMarkdown(): string {
  const rows = configKeys().map((k) => {
    const def = k.sensitive ? "(secret)" : `\`${JSON.stringify(k.default)}\``;
    return `| \`${k.path}\` | ${def} | ${k.env === undefined ? "" : `\`${k.env}\``} | ${k.doc} |`;
  });
  return ["| key | default | environment | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** config/default.json: every key at its default, nested like the schema. */
export function defaultConfigObject(): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const key of configKeys()) {
    const parts = key.path.split(".");
    let node = root;
    for (const part of parts.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[parts[parts.length - 1]!] = key.default;
  }
  return root;
}

export const README_MARKERS = { begin: "<!-- config-reference:begin -->", end: "<!-- config-reference:end -->" } as const;
