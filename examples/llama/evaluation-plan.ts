/**
 * Where a prompt's evaluation is split. Cold or warm, a prompt is evaluated in
 * chunks that end at the same positions — every multiple of the block size,
 * the stored tail, and (warm) the restored length — so a restored run computes
 * exactly what a cold run split at the same points computes, bit for bit.
 */

export interface PlanOptions {
  /** Store a state every this many tokens (the block size). */
  readonly blockTokens: number;
  /** Also store the state of the whole prompt but its last token, so the same prompt again evaluates one token. */
  readonly storeTail: boolean;
}

/**
 * The prefix lengths whose states a run of a `promptLength`-token prompt
 * stores: the block multiples below the last token, and the tail. The last
 * token is never stored: it must be evaluated to get the next token's logits.
 */
export function storePoints(promptLength: number, o: PlanOptions): number[] {
  if (!Number.isInteger(o.blockTokens) || o.blockTokens < 1) throw new RangeError("blockTokens must be a positive integer");
  const points = new Set<number>();
  for (let end = o.blockTokens; end < promptLength; end += o.blockTokens) points.add(end);
  if (o.storeTail && promptLength > 1) points.add(promptLength - 1);
  return [...points].sort((a, b) => a - b);
}

/** [start, end) chunks covering [from, to), split at every point strictly inside. */
export function chunks(from: number, to: number, splits: Iterable<number>): Array<readonly [number, number]> {
  const inside = [...new Set(splits)].filter((p) => p > from && p < to).sort((a, b) => a - b);
  const bounds = [from, ...inside, to];
  const out: Array<readonly [number, number]> = [];
  for (let i = 0; i + 1 < bounds.length; i++) out.push([bounds[i]!, bounds[i + 1]!]);
  return out;
}
