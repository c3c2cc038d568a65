/**
 * Float reference forward pass on typed arrays (Float64 arithmetic, no tfjs): the model the
 * integer engines approximate, and the source of the activation statistics of PTQ.
 *
 * - ORNN: `h_t = σ(W h_{t−1} + x_t U + b)`; HadamRNN: `W h = diag(signs)·(I ⊗ H_m) h / √m`
 *   with the fast Walsh–Hadamard transform.
 * - LSTM: `[i f g o] = x_t Wx + h_{t−1} Wh + b`; `c_t = σ(f) c_{t−1} + σ(i) tanh(g)`;
 *   `h_t = σ(o) tanh(c_t)`.
 * - Readout `ŷ_t = f(h_t) V + c` at every step (`many-to-many`) or at the last (`last`).
 */
import { hadamardTransformInPlace } from '@orthoquant/orthogonal';
import type { FloatModel, FloatLstm } from '../model.js';

/** Receives activations as they are computed (calibration). Arrays are reused: copy to keep. */
export interface ActivationObserver {
  /** x_t for all rows of one step, `[B, inputSize]`. */
  input?(values: Float64Array): void;
  /** h_t after step t, `[B, n]`. */
  hidden?(values: Float64Array): void;
  /** LSTM cell c_t, `[B, n]`. */
  cell?(values: Float64Array): void;
}

/** Logits of a time-major batch: `[T, B, out]` (many-to-many) or `[B, out]` (last). */
/** Float recurrent state carried between batches: h (and the LSTM cell c), `[B, n]`, updated in place. */
export interface FloatState {
  h: Float64Array;
  c?: Float64Array;
}

export function floatForward(model: FloatModel, inputs: Float32Array, T: number, B: number, observer: ActivationObserver = {}, state?: FloatState): Float32Array {
  const { n, inputSize, outputSize } = model;
  checkInputs(inputs, T, B, inputSize);
  const logits = new Float32Array((model.readout === 'last' ? 1 : T) * B * outputSize);
  if (state && (state.h.length !== B * n || (model.kind === 'lstm' && state.c?.length !== B * n))) {
    throw new Error(`forward: state: expected B·n = ${B * n} values per array, got ${state.h.length}`);
  }
  const h = state?.h ?? new Float64Array(B * n);
  const x = new Float64Array(B * inputSize);
  const cell = model.kind === 'lstm' ? (state?.c ?? new Float64Array(B * n)) : null;
  const gates = model.kind === 'lstm' ? new Float64Array(4 * n) : null;
  const tmp = new Float64Array(n);
  const wh = new Float64Array(n);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < B * inputSize; i++) x[i] = inputs[t * B * inputSize + i];
    observer.input?.(x);
    for (let b = 0; b < B; b++) {
      const hb = h.subarray(b * n, (b + 1) * n);
      const xb = x.subarray(b * inputSize, (b + 1) * inputSize);
      if (model.kind === 'lstm') lstmStep(model, xb, hb, cell!.subarray(b * n, (b + 1) * n), gates!);
      else {
        // tmp = x U + b
        for (let j = 0; j < n; j++) tmp[j] = model.b[j];
        for (let d = 0; d < inputSize; d++) {
          const xd = xb[d];
          if (xd === 0) continue;
          const row = d * n;
          for (let j = 0; j < n; j++) tmp[j] += xd * model.U[row + j];
        }
        if (model.kind === 'hadamrnn') {
          wh.set(hb);
          hadamardTransformInPlace(wh, n, model.blockSize); // H_m = H_p ⊗ H_2^k (Sylvester for 2^k)
          const inv = 1 / Math.sqrt(model.blockSize);
          for (let j = 0; j < n; j++) tmp[j] += model.signs[j] * wh[j] * inv;
        } else {
          const W = model.W;
          for (let i = 0; i < n; i++) {
            let s = 0;
            const row = i * n;
            for (let j = 0; j < n; j++) s += W[row + j] * hb[j];
            tmp[i] += s;
          }
        }
        const relu = model.activation === 'relu';
        for (let j = 0; j < n; j++) hb[j] = relu && tmp[j] < 0 ? 0 : tmp[j];
      }
    }
    observer.hidden?.(h);
    if (cell) observer.cell?.(cell);
    if (model.readout === 'many-to-many' || t === T - 1) {
      const base = model.readout === 'last' ? 0 : t * B * outputSize;
      const relu = model.kind !== 'lstm' && model.readoutActivation === 'relu';
      readoutFloat(model.V, model.c, h, B, n, outputSize, relu, logits, base);
    }
  }
  return logits;
}

function readoutFloat(V: Float32Array, c: Float32Array, h: Float64Array, B: number, n: number, out: number, relu: boolean, logits: Float32Array, base: number): void {
  const acc = new Float64Array(out);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < out; o++) acc[o] = c[o];
    for (let j = 0; j < n; j++) {
      let v = h[b * n + j];
      if (relu && v < 0) v = 0;
      if (v === 0) continue;
      const row = j * out;
      for (let o = 0; o < out; o++) acc[o] += v * V[row + o];
    }
    for (let o = 0; o < out; o++) logits[base + b * out + o] = acc[o];
  }
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

function lstmStep(model: FloatLstm, x: Float64Array, h: Float64Array, c: Float64Array, g: Float64Array): void {
  const n = model.n;
  const n4 = 4 * n;
  for (let k = 0; k < n4; k++) g[k] = model.b[k];
  for (let d = 0; d < x.length; d++) {
    const xd = x[d];
    if (xd === 0) continue;
    for (let k = 0; k < n4; k++) g[k] += xd * model.Wx[d * n4 + k];
  }
  for (let j = 0; j < n; j++) {
    const hj = h[j];
    if (hj === 0) continue;
    for (let k = 0; k < n4; k++) g[k] += hj * model.Wh[j * n4 + k];
  }
  for (let j = 0; j < n; j++) {
    c[j] = sigmoid(g[n + j]) * c[j] + sigmoid(g[j]) * Math.tanh(g[2 * n + j]);
    h[j] = sigmoid(g[3 * n + j]) * Math.tanh(c[j]);
  }
}

export function checkInputs(inputs: ArrayLike<number>, T: number, B: number, inputSize: number): void {
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(B) || B < 1) throw new Error(`forward: T and B must be integers ≥ 1, got T=${T}, B=${B}`);
  if (inputs.length !== T * B * inputSize) {
    throw new Error(`forward: inputs: expected T·B·inputSize = ${T}·${B}·${inputSize} = ${T * B * inputSize} values (time-major), got ${inputs.length}`);
  }
}
