/** One sample of a Prometheus text exposition: `name{labels} value`. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** GETs `<adminUrl>/metrics` and parses it. */
export async function scrape(adminUrl: string): Promise<PromSample[]> {
  const res = await fetch(`${adminUrl}/metrics`);
  if (!res.ok) throw new Error(`GET ${adminUrl}/metrics answered ${res.status}`);
  return parsePromText(await res.text());
}

/** Parses the Prometheus text format (comments skipped, label values unescaped). */
export function parsePromText(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) throw new Error(`unparsable metrics line: ${line}`);
    samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? ""), value: Number(m[3]) });
  }
  return samples;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  return labels;
}

/** Sum of the samples named `name` whose labels include `labels` (0 when none). */
export function valueOf(samples: readonly PromSample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

/** True when some sample is named `name`. */
export function has(samples: readonly PromSample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}
