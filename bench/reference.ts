import type { BenchRow } from "./report.js";

/**
 * DatenLord's published SDK figures (single client, their hardware): write about
 * 0.17 GB/s, read 0.07 – 0.88 GB/s for 0.5 – 16 MiB payloads. Not measured here:
 * each row sets one of our measured figures beside the published one.
 */
const PUBLISHED_WRITE_GBPS = 0.17;
const PUBLISHED_READ_GBPS = { low: 0.07, high: 0.88 };

export function referenceRows(measured: readonly BenchRow[]): BenchRow[] {
  const find = (section: string, size: string): BenchRow | undefined => measured.find((r) => r.section === section && r.name.includes(` ${size},`));
  const rows: BenchRow[] = [];
  const write = find("insert", "1 MiB");
  if (write !== undefined) {
    rows.push({ section: "reference", name: `our ${write.name}`, value: write.value, unit: "GB/s", baseline: { name: "DatenLord published write", value: PUBLISHED_WRITE_GBPS }, note: "published figure, other hardware" });
  }
  for (const size of ["1 MiB", "4 MiB"]) {
    const read = find("hot-tier load", size);
    if (read === undefined) continue;
    const published = { name: `DatenLord published read (${PUBLISHED_READ_GBPS.low}–${PUBLISHED_READ_GBPS.high}, top)`, value: PUBLISHED_READ_GBPS.high };
    rows.push({ section: "reference", name: `our ${read.name}`, value: read.value, unit: "GB/s", baseline: published, note: "published figure, other hardware" });
  }
  return rows;
}
