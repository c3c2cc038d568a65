/**
 * Integer HadamRNN step for Hadamard orders m = p·2^k that are not powers of two
 * (H_m = H_p ⊗ H_q, q = 2^k; see `IntegerHadamRnn.hadamardP`). Per row, all integers, no
 * multiplication:
 * - a = (I ⊗ H_p ⊗ H_q) q_{t−1}: Walsh–Hadamard butterflies on each q-slice, then per block
 *   of m the p × p ±1 stage (output slice = Σ⁺ slices − Σ⁻ slices);
 * - a ← a·C/2^{F−G} as Σ_e ⌊a·2^{e−F+G}⌋ over the set bits e of C = `stepMultiplier` (one
 *   arithmetic shift and one add per bit; F = `multiplierShift`, G = the step shift);
 * - sign flip, + z_t, rounding right shift by G, saturation, ReLU — as `hadamardStep`.
 */
import type { IntegerHadamRnn } from '../model.js';

/** The set bits of C, lowest first (a·C = Σ a ≪ e). */
export function multiplierTerms(c: number): Int32Array {
  if (!Number.isInteger(c) || c < 1 || c >= 2 ** 31) throw new Error(`stepMultiplier: expected an integer in 1..2^31−1, got ${c}`);
  const out: number[] = [];
  for (let e = 0; e < 31; e++) if ((c >>> e) & 1) out.push(e);
  return Int32Array.from(out);
}

/**
 * Right shifts r_e = F − G − e of each set bit e of C (negative: a left shift by −r_e);
 * capped at 31, where ⌊a/2^r⌋ is already 0 or −1 for |a| < 2^31 (JS shifts count mod 32).
 */
export function multiplierShifts(c: number, F: number, G: number): Int32Array {
  return Int32Array.from(multiplierTerms(c), (e) => Math.min(31, F - G - e));
}

export interface KronStepConstants {
  /** Slice length q = 2^k and order p (m = p·q). */
  q: number;
  p: number;
  /** H_p row-major ±1. */
  hp: Int8Array;
  /** Right shift of each set bit of the step multiplier (negative: left). */
  terms: Int32Array;
  /** Scratch of m values. */
  tmp: Int32Array;
}

export function kronConstants(model: IntegerHadamRnn): KronStepConstants {
  const p = model.hadamardOrder!;
  const m = model.blockSize;
  return { p, q: m / p, hp: model.hadamardP!, terms: multiplierShifts(model.stepMultiplier!, model.multiplierShift!, model.stepShifts[0]), tmp: new Int32Array(m) };
}

/**
 * One recurrent step of B rows in place on `h` ([B, n]), reading `z[zOffset …]`. Written
 * without `*`, `/` or `%` (indices advance by addition), checked by a test like `hadamardStep`.
 */
export function kronHadamardStep(h: Int32Array, z: Int32Array, zOffset: number, B: number, n: number, m: number, k: KronStepConstants, signMask: Int32Array, shift: number, qmin: number, qmax: number, relu: boolean): void {
  const { q, hp, terms, tmp } = k;
  const mask = shift === 31 ? 0x7fffffff : (1 << shift) - 1;
  const half = mask >> 1;
  const nt = terms.length;
  let zi = zOffset;
  let row = 0;
  for (let b = 0; b < B; b++, row += n) {
    // Walsh–Hadamard butterflies on each slice of q entries.
    for (let base = row; base < row + n; base += q) {
      for (let w = 1; w < q; w <<= 1) {
        const stride = w << 1;
        for (let i = base; i < base + q; i += stride) {
          for (let j = i; j < i + w; j++) {
            const x = h[j];
            const y = h[j + w];
            h[j] = x + y;
            h[j + w] = x - y;
          }
        }
      }
    }
    // The p × p ±1 stage on each block of m = p·q entries.
    for (let base = row; base < row + n; base += m) {
      for (let i = 0; i < m; i++) tmp[i] = h[base + i];
      let hi = 0;
      for (let out = base; out < base + m; out += q) {
        for (let j = 0; j < q; j++) h[out + j] = 0;
        for (let src = 0; src < m; src += q, hi++) {
          if (hp[hi] > 0) for (let j = 0; j < q; j++) h[out + j] += tmp[src + j];
          else for (let j = 0; j < q; j++) h[out + j] -= tmp[src + j];
        }
      }
    }
    for (let j = row, e = 0; e < n; j++, e++, zi++) {
      // a·C/2^{F−G} by shifts and adds (each term floored), then as hadamardStep: sign flip (h ^ s) − s, + z, rounding
      // shift (ties away from zero), saturation, ReLU as v & ~(v ≫ 31).
      const a = h[j];
      let ac = 0;
      for (let t = 0; t < nt; t++) {
        const r = terms[t];
        ac += r >= 0 ? a >> r : a << -r;
      }
      const sgn = signMask[e];
      let v = z[zi] + ((ac ^ sgn) - sgn);
      if (shift > 0) {
        const up = (half + (v >>> 31) - (v & mask)) >>> 31;
        v = (v >> shift) + up;
      }
      if (v < qmin) v = qmin;
      else if (v > qmax) v = qmax;
      if (relu) v &= ~(v >> 31);
      h[j] = v;
    }
  }
}
