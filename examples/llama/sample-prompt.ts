/** The example's default prompt: long enough (~600 tokens) for prefill to dominate time to first token. */
const PARAGRAPH =
  "When a model state is long, the cache can store each block of the prompt so that the next time the same prefix " +
  "comes back, the node will load the key value state from memory or disk instead of the model doing all the work " +
  "again. A cold prompt has to go through every layer; a warm one only reads what was made before. ";

export const SAMPLE_PROMPT = PARAGRAPH.repeat(8) + "Now say what the cache did for this prompt:";
