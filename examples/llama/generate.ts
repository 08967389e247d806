/** Greedy generation with the next-token distribution recorded, as the equality test compares it. */
import type { LlamaContextSequence, Token } from "node-llama-cpp";

export interface Generation {
  /** Greedy continuation (stops early at an end-of-generation token). */
  readonly generated: Token[];
  /** The full next-token distribution after the prompt, highest first: [token, probability]. */
  readonly firstProbabilities: Array<[Token, number]>;
  /** Probability of each generated token. */
  readonly confidences: number[];
  /** performance.now() when the first token was known. */
  readonly firstTokenAt: number;
}

/** Evaluates `input` (the prompt's last chunk) and generates up to `maxTokens` tokens, temperature 0. */
export async function generateGreedy(sequence: LlamaContextSequence, input: readonly Token[], maxTokens: number): Promise<Generation> {
  const generated: Token[] = [];
  const confidences: number[] = [];
  let firstProbabilities: Array<[Token, number]> = [];
  let firstTokenAt = Number.NaN;
  if (maxTokens < 1) throw new RangeError("maxTokens must be at least 1");
  const output = sequence.evaluateWithMetadata([...input], { probabilities: true }, { temperature: 0 });
  for await (const next of output) {
    if (generated.length === 0) {
      firstTokenAt = performance.now();
      firstProbabilities = [...next.probabilities.entries()];
    }
    generated.push(next.token);
    confidences.push(next.probabilities.get(next.token) ?? Number.NaN);
    if (generated.length >= maxTokens) break;
  }
  if (generated.length === 0) throw new Error("the model produced no token");
  return { generated, firstProbabilities, confidences, firstTokenAt };
}
