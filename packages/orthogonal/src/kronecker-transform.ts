/**
 * HadamRNN's Hadamard transform for any order m = p·2^k on plain arrays (the float reference
 * and the Float64 simulation of the integer engine): y = (I_{n/m} ⊗ H_p ⊗ H_q) x per row,
 * q = 2^k, H_p = `hadamard(p)`, unnormalised —
 * - the fast Walsh–Hadamard transform of every q-slice (`fwhtInPlace`),
 * - then, per block of m, output slice a = Σ_b H_p[a, b]·slice_b (additions and subtractions).
 * Exact on integer-valued Float64 arrays (sums far below 2^53). For p = 1 it is `fwhtInPlace`.
 */
import { hadamard, hadamardFactors } from './hadamard.js';
import { fwhtInPlace } from './fwht.js';

export function hadamardTransformInPlace<A extends Float32Array | Float64Array>(x: A, n: number, m: number = n): A {
  const f = hadamardFactors(m);
  if (!f) throw new Error(`hadamardTransformInPlace: no factorisation p·2^k of order ${m} with a Hadamard matrix of order p`);
  if (!Number.isInteger(n) || n < 1 || n % m !== 0 || x.length % n !== 0) throw new Error(`hadamardTransformInPlace: block size ${m} must divide the row length ${n}, which must divide the array length ${x.length}`);
  const { p, q } = f;
  if (q > 1) fwhtInPlace(x, x.length, { blockSize: q });
  if (p === 1) return x;
  const hp = hadamard(p);
  const tmp = new Float64Array(m);
  for (let base = 0; base < x.length; base += m) {
    for (let i = 0; i < m; i++) tmp[i] = x[base + i];
    for (let a = 0; a < p; a++) {
      for (let j = 0; j < q; j++) {
        let s = 0;
        for (let b = 0; b < p; b++) s = hp[a * p + b] > 0 ? s + tmp[b * q + j] : s - tmp[b * q + j];
        x[base + a * q + j] = s;
      }
    }
  }
  return x;
}
