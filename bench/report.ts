/** Bench rows, the printed table, and the JSON written next to it. */

/** Higher is better for throughput, lower for latency: a ratio is always "ours / baseline". */
export interface BenchRow {
  readonly section: string;
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** Secondary figures (ops/s, p99, sizes…), printed after the value. */
  readonly extra?: string;
  readonly baseline?: { readonly name: string; readonly value: number; readonly extra?: string };
  /**
   * Lowest and highest ratio of the paired rounds (round i of ours over round i
   * of the baseline, run back to back): how far one run's ratio moves.
   */
  readonly ratioRange?: readonly [number, number];
  /**
   * "≥ 2.0×" or "≤ 1.5×"; checked against the ratio, or against the value itself
   * when `of` is "value" (a row whose value is already a ratio, such as growth).
   */
  readonly target?: { readonly op: ">=" | "<="; readonly ratio: number; readonly of?: "value" };
  /** A note on what the row measures or why it misses. */
  readonly note?: string;
}

export function ratioOf(row: BenchRow): number | undefined {
  return row.baseline === undefined || row.baseline.value === 0 ? undefined : row.value / row.baseline.value;
}

export function targetMet(row: BenchRow): boolean | undefined {
  const checked = row.target?.of === "value" ? row.value : ratioOf(row);
  if (row.target === undefined || checked === undefined) return undefined;
  return row.target.op === ">=" ? checked >= row.target.ratio : checked <= row.target.ratio;
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "n/a";
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit}`;
}

const HEADER = ["section", "measurement", "value", "baseline (same run)", "ratio", "target"];

function cells(row: BenchRow): string[] {
  const ratio = ratioOf(row);
  const met = targetMet(row);
  const value = fmt(row.value, row.unit) + (row.extra === undefined ? "" : ` (${row.extra})`);
  const base = row.baseline === undefined ? "" : `${row.baseline.name}: ${fmt(row.baseline.value, row.unit)}${row.baseline.extra === undefined ? "" : ` (${row.baseline.extra})`}`;
  const target = row.target === undefined ? "" : `${row.target.of === "value" ? "value " : ""}${row.target.op === ">=" ? "≥" : "≤"} ${row.target.ratio.toFixed(1)}× ${met ? "met" : "MISSED"}`;
  const range = row.ratioRange === undefined ? "" : ` (${row.ratioRange[0].toFixed(2)}–${row.ratioRange[1].toFixed(2)})`;
  return [row.section, row.name, value, base, ratio === undefined ? "" : `${ratio.toFixed(2)}×${range}`, target];
}

/** A Markdown table (it reads as plain text in a terminal too). */
export function renderTable(rows: readonly BenchRow[]): string {
  const body = rows.map(cells);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(HEADER), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

/** The JSON document of one run: machine, settings, and every row with its ratio and verdict. */
export function resultDocument(rows: readonly BenchRow[], context: Record<string, unknown>): unknown {
  return {
    ...context,
    rows: rows.map((row) => ({ ...row, ratio: ratioOf(row) ?? null, targetMet: targetMet(row) ?? null })),
  };
}
