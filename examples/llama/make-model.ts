/**
 * Writes a random-weight llama GGUF model (nothing downloaded):
 *   npx tsx examples/llama/make-model.ts --size medium [--seed 1] [--dir <directory>]
 * and prints its path, size and SHA-256. Reuses the file when it already exists.
 */
import { parseArgs } from "node:util";
import { MODEL_SIZES, isModelSize, parameterCount } from "./gguf/random-llama.js";
import { DEFAULT_MODEL_DIR, ensureModelFile, hashFile } from "./model-file.js";

const { values } = parseArgs({
  options: { size: { type: "string", default: "small" }, seed: { type: "string", default: "1" }, dir: { type: "string", default: DEFAULT_MODEL_DIR } },
});
if (!isModelSize(values.size)) throw new Error(`--size must be one of ${Object.keys(MODEL_SIZES).join(", ")}; got ${values.size}`);
const seed = Number(values.seed);
if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer; got ${values.seed}`);
const file = await ensureModelFile({ size: values.size, seed, directory: values.dir });
const params = parameterCount(MODEL_SIZES[values.size]);
console.log(`${file.path}\n${(file.sizeBytes / 1e6).toFixed(1)} MB, ${(params / 1e6).toFixed(1)}M parameters, sha256 ${await hashFile(file.path)}`);
