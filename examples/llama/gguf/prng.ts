import { createHash } from "node:crypto";

/**
 * A seeded generator of uniform floats (xoshiro128**): the same seed and stream
 * name give the same numbers on every machine, so a generated model file, and
 * so its hash, is reproducible byte for byte.
 */
export class Prng {
  readonly #s: Uint32Array;

  /** A stream per (seed, name): tensors draw independently of the order they are written in. */
  constructor(seed: number, stream: string) {
    const digest = createHash("sha256").update(`${seed}/${stream}`).digest();
    this.#s = new Uint32Array([digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12) | 1]);
  }

  /** A uint32. */
  next(): number {
    const s = this.#s;
    const s0 = s[0]!, s1 = s[1]!, s2 = s[2]!, s3 = s[3]!;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s[2] = s2 ^ s0;
    s[3] = s3 ^ s1;
    s[1] = s1 ^ s[2]!;
    s[0] = s0 ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [-scale, scale). */
  uniform(scale: number): number {
    return (this.next() / 2 ** 32 * 2 - 1) * scale;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
