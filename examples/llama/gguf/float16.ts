const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of `value`, rounded to nearest even (Node 20 has no Float16Array). */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    return sign | roundShift(mant, shift);
  }
  // A carry out of the mantissa correctly bumps the exponent (and may give infinity).
  return sign | ((e << 10) + roundShift(mant, 13));
}

function roundShift(mant: number, shift: number): number {
  const half = 1 << (shift - 1);
  const rest = mant & ((1 << shift) - 1);
  let out = mant >>> shift;
  if (rest > half || (rest === half && (out & 1) === 1)) out += 1;
  return out;
}
