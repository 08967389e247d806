/**
 * The cache namespace of llama.cpp sequence states. A state is only valid for
 * the exact weights and for the context settings that shape it: flash attention
 * changes the numbers, the KV cache types and the sequence count change the
 * layout, and the llama.cpp release changes the file format. A state loaded
 * under other settings fails, or with same-shape weights loads silently and
 * produces wrong output — so all of them are part of the namespace.
 */

export type KvCacheType = "F16" | "F32" | "Q8_0";

/** The context settings that change what a saved state means. */
export interface StateSettings {
  readonly flashAttention: boolean;
  readonly kvCacheKeyType: KvCacheType;
  readonly kvCacheValueType: KvCacheType;
  readonly sequences: number;
}

export interface NamespaceParts extends StateSettings {
  /** SHA-256 of the model file, hex. */
  readonly modelSha256: string;
  /** llama.cpp release of the binding ("b1234"), which fixes the state file format. */
  readonly llamaCppRelease: string;
}

/** "llama-state/<model hash>/<release>/fa0-kF16-vF16-seq1": readable, and well under the 256-byte limit. */
export function stateNamespace(p: NamespaceParts): string {
  if (!/^[0-9a-f]{64}$/.test(p.modelSha256)) throw new TypeError("modelSha256 must be 64 lowercase hex digits");
  const settings = `fa${p.flashAttention ? 1 : 0}-k${p.kvCacheKeyType}-v${p.kvCacheValueType}-seq${p.sequences}`;
  return `llama-state/${p.modelSha256}/${p.llamaCppRelease}/${settings}`;
}
