/**
 * The float simulation of the integer arithmetic: every engine re-derived on Float64 values
 * with the `*F64` primitives (real arithmetic, explicit rounding and clamping, no bitwise
 * operators, no typed integer arrays). Tests require it to equal the engines bit for bit.
 */
import { clampF64, mulQuantizedF64 } from '../fixed-point/fixed-point-f64.js';
import type { FixedMultiplier } from '../fixed-point/fixed-point.js';
import type { QuantizedTensor } from '../model.js';

const LIMIT = 2 ** 30;
const MIN32 = -(2 ** 31);
const MAX32 = 2 ** 31 - 1;

/** Float64 logits in integer units and their per-step real scales. */
export interface SimulatedOutput {
  logits: Float64Array;
  logitScales: Float64Array;
}

export function projectInputsF64(xq: ArrayLike<number>, T: number, B: number, U: QuantizedTensor, zeroPoint: number, bInput: ArrayLike<number>, rescaleAt: (t: number) => FixedMultiplier): Float64Array {
  const [D, n] = U.shape;
  const z = new Float64Array(T * B * n);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const r = t * B + b;
      for (let j = 0; j < n; j++) {
        let acc = bInput[j];
        for (let d = 0; d < D; d++) acc += U.codes[d * n + j] * (xq[r * D + d] - zeroPoint);
        z[r * n + j] = clampF64(mulQuantizedF64(clampF64(acc, MIN32, MAX32), rescaleAt(t)), -LIMIT, LIMIT);
      }
    }
  }
  return z;
}

export function readoutF64(h: Float64Array, B: number, n: number, V: QuantizedTensor, c: ArrayLike<number>, relu: boolean, zeroPoint: number, out: Float64Array, offset: number): void {
  const O = V.shape[1];
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      let acc = c[o];
      for (let j = 0; j < n; j++) {
        const v = h[b * n + j] - zeroPoint;
        acc += V.codes[j * O + o] * (relu ? Math.max(v, 0) : v);
      }
      out[offset + b * O + o] = clampF64(acc, MIN32, MAX32);
    }
  }
}
