import type { Counter } from "prom-client";

/** The current value of `counter` for exactly-matching `labels` (0 when never incremented). */
export async function counterValue<L extends string>(counter: Counter<L>, labels: Partial<Record<L, string>>): Promise<number> {
  const { values } = await counter.get();
  const wanted = Object.entries(labels);
  return values.filter((v) => wanted.every(([k, want]) => v.labels[k as L] === want)).reduce((sum, v) => sum + v.value, 0);
}
