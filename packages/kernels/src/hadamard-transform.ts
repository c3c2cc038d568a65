/**
 * The recurrent transform of the Hadamard scans, on plain arrays (the JS implementations; the
 * native one is native/kron.h):
 *
 *   x ← (I_{n/m} ⊗ H_m) x,   H_m = H_p ⊗ H_q,  m = p·q,  q = 2^k
 *
 * - p = 1 (m a power of two): the fast Walsh–Hadamard transform of every block (`fwhtBlocks`).
 * - p > 1 (m = 96 = 12·8, 192 = 12·16, Paley orders 12, 20, 28, …): (H_p ⊗ H_q) v =
 *   (H_p ⊗ I_q)(I_p ⊗ H_q) v — the fast WHT of each of the p slices of q entries, then the
 *   p × p ±1 transform across slices (the "p-stage"): output slice a = Σ_{b: H_p[a,b] = +1}
 *   slice_b − Σ_{b: H_p[a,b] = −1} slice_b, additions and subtractions of contiguous slices
 *   only. O(m·(p + log₂ q)) per block instead of m².
 * - Paley matrices are not symmetric: the transposed transform (H_pᵀ ⊗ H_q) is the BPTT carry
 *   and the inverse used by reversible BPTT ((H_m)ᵀ H_m = m I).
 */

type NumArray = Float32Array | Float64Array | Int32Array;

/** In-place fast Walsh–Hadamard transform of x[off .. off+n) in independent blocks of m (unnormalised). */
export function fwhtBlocks(x: Float32Array, off: number, n: number, m: number): void {
  for (let base = off; base < off + n; base += m) {
    for (let h = 1; h < m; h <<= 1) {
      for (let i = base; i < base + m; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = x[j];
          const b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
}

/** `fwhtBlocks` on any numeric array (integers stay exact). */
function fwhtAny(x: NumArray, off: number, n: number, q: number): void {
  if (x instanceof Float32Array) {
    fwhtBlocks(x, off, n, q);
    return;
  }
  for (let base = off; base < off + n; base += q) {
    for (let h = 1; h < q; h <<= 1) {
      for (let i = base; i < base + q; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = x[j];
          const b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
}

/** The p-stage as lists of slices to add and to subtract for each output slice. */
export interface PStage {
  p: number;
  q: number;
  plus: Int32Array[];
  minus: Int32Array[];
}

/** Check that `hp` is a ±1 matrix of order p (H_p H_pᵀ = p I is the caller's construction). */
export function checkHp(hp: unknown, p: number, where: string): asserts hp is Int8Array {
  if (!(hp instanceof Int8Array) || hp.length !== p * p) throw new Error(`${where}: hp must be an Int8Array of p·p = ${p * p} entries (H_p row-major), got ${hp instanceof Int8Array ? hp.length : typeof hp}`);
  const bad = hp.findIndex((v) => v !== 1 && v !== -1);
  if (bad >= 0) throw new Error(`${where}: hp[${bad}] = ${hp[bad]}, expected ±1`);
}

/** The p-stage of H_p (or H_pᵀ) over slices of q entries. */
export function pStage(hp: Int8Array, p: number, q: number, transpose = false): PStage {
  checkHp(hp, p, 'pStage');
  const plus: Int32Array[] = [];
  const minus: Int32Array[] = [];
  for (let a = 0; a < p; a++) {
    const pl: number[] = [];
    const mi: number[] = [];
    for (let b = 0; b < p; b++) (hp[transpose ? b * p + a : a * p + b] > 0 ? pl : mi).push(b);
    plus.push(Int32Array.from(pl));
    minus.push(Int32Array.from(mi));
  }
  return { p, q, plus, minus };
}

/**
 * x[off .. off+p·q) ← (H_p ⊗ I_q) x, in place: output slice a = Σ⁺ slices − Σ⁻ slices.
 * Additions and subtractions only (exact on integers). `tmp` holds ≥ p·q values of x's type.
 */
export function applyPStage<A extends NumArray>(st: PStage, x: A, off: number, tmp: A): void {
  const { p, q, plus, minus } = st;
  const m = p * q;
  for (let i = 0; i < m; i++) tmp[i] = x[off + i];
  for (let a = 0; a < p; a++) {
    const out = off + a * q;
    const pl = plus[a];
    const mi = minus[a];
    // Hadamard rows have at least one +1 or one −1: start from the first term, no zeroing.
    if (pl.length > 0) {
      let src = pl[0] * q;
      for (let j = 0; j < q; j++) x[out + j] = tmp[src + j];
      for (let k = 1; k < pl.length; k++) {
        src = pl[k] * q;
        for (let j = 0; j < q; j++) x[out + j] += tmp[src + j];
      }
      for (let k = 0; k < mi.length; k++) {
        src = mi[k] * q;
        for (let j = 0; j < q; j++) x[out + j] -= tmp[src + j];
      }
    } else {
      for (let j = 0; j < q; j++) x[out + j] = -tmp[mi[0] * q + j];
      for (let k = 1; k < mi.length; k++) {
        const src = mi[k] * q;
        for (let j = 0; j < q; j++) x[out + j] -= tmp[src + j];
      }
    }
  }
}

/**
 * x[off .. off+n) ← (I_{n/m} ⊗ H_p ⊗ H_q) x in place (unnormalised), m = p·q: FWHT of every
 * q-slice, then the p-stage of every block. Additions and subtractions only.
 */
export function kronTransform<A extends NumArray>(st: PStage, x: A, off: number, n: number, tmp: A): void {
  const m = st.p * st.q;
  fwhtAny(x, off, n, st.q);
  if (st.p > 1) for (let base = off; base < off + n; base += m) applyPStage(st, x, base, tmp);
}

function isPowerOfTwo(m: number): boolean {
  return Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0;
}

/** The Hadamard order of a scan: blocks of m = p·2^k in a hidden size n; p = 1 without hp. */
export interface HadamardOrder {
  n: number;
  blockSize: number;
  /** Order of H_p (default 1: m is a power of two). */
  p?: number;
  /** H_p, row-major ±1 [p·p] (p > 1 only). */
  hp?: Int8Array;
}

/** Check an order (messages name `where` and the quantity); returns q = m / p. */
export function checkHadamardOrder(o: HadamardOrder, where: string): number {
  const { n, blockSize: m } = o;
  const p = o.p ?? 1;
  if (!Number.isInteger(p) || p < 1) throw new Error(`${where}: p must be a positive integer, got ${p}`);
  if (p === 1) {
    if (o.hp !== undefined) throw new Error(`${where}: hp is given but p = 1 (give p, the order of H_p)`);
    if (!isPowerOfTwo(m)) throw new Error(`${where}: blockSize must be a power of two, got ${m} (orders p·2^k: give p and hp)`);
  } else {
    checkHp(o.hp, p, where);
    if (!Number.isInteger(m) || m % p !== 0 || !isPowerOfTwo(m / p)) throw new Error(`${where}: blockSize ${m} must be p·2^k with p = ${p}`);
  }
  if (!Number.isInteger(m) || n % m !== 0) throw new Error(`${where}: blockSize ${m} must divide the hidden size n = ${n}`);
  return m / p;
}

/**
 * The transform of a checked order on Float32Arrays: x[off .. off+n) ← (I ⊗ H_m) x, or with
 * `transpose` (I ⊗ H_mᵀ) x (the same for powers of two).
 */
export function recurrentTransform(o: HadamardOrder, transpose: boolean): (x: Float32Array, off: number) => void {
  const { n, blockSize: m } = o;
  const p = o.p ?? 1;
  if (p === 1) return (x, off) => fwhtBlocks(x, off, n, m);
  const st = pStage(o.hp!, p, m / p, transpose);
  const tmp = new Float32Array(m);
  return (x, off) => kronTransform(st, x, off, n, tmp);
}
