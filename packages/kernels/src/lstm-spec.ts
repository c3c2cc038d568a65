/**
 * The fused LSTM scan: shapes, buffers and the implementation interface (native and JS).
 *
 * Gate order i, f, g, o (PyTorch's). With gates G[t] = x_t W_ihᵀ + b precomputed outside:
 *   a_t = G[t] + h_{t−1} W_hhᵀ        (W_hh: [4n, n])
 *   i, f, o = sigmoid(a_i, a_f, a_o),  g = tanh(a_g)
 *   c_t = f ⊙ c_{t−1} + i ⊙ g,         h_t = o ⊙ tanh(c_t)
 * Saved for BPTT: the gate activations S [T, B, 4n], the cells C [T, B, n] and H [T, B, n].
 */
import { checkArray, checkPositiveIntegers } from './checks.js';

export interface LstmSpec {
  T: number;
  B: number;
  /** Hidden size n (gates are 4n wide). */
  n: number;
}

export interface LstmInputs {
  /** Precomputed input part of the gates [T·B·4n]. */
  gates: Float32Array;
  /** W_hh [4n·n], row-major. */
  w: Float32Array;
  h0: Float32Array | null;
  c0: Float32Array | null;
}

/** Forward outputs (all written by `forward`). */
export interface LstmOutputs {
  H: Float32Array;
  C: Float32Array;
  /** Gate activations i, f, g, o [T·B·4n]. */
  S: Float32Array;
}

export interface LstmGradients {
  dgates: Float32Array;
  dw: Float32Array;
  dh0: Float32Array | null;
  dc0: Float32Array | null;
}

export interface LstmImplementation {
  readonly name: 'native' | 'js';
  forward(spec: LstmSpec, inp: LstmInputs, out: LstmOutputs, threads: number): void;
  /** Overwrites every gradient buffer given (dh0 / dc0 when non-null). */
  backward(spec: LstmSpec, inp: LstmInputs, saved: LstmOutputs, dH: Float32Array, g: LstmGradients, threads: number): void;
}

export function checkLstm(spec: LstmSpec, inp: LstmInputs, where = 'lstmScan'): void {
  const { T, B, n } = spec;
  checkPositiveIntegers(where, [['T', T], ['B', B], ['n', n]]);
  checkArray(where, 'gates', inp.gates, T * B * 4 * n);
  checkArray(where, 'W_hh', inp.w, 4 * n * n);
  if (inp.h0) checkArray(where, 'h0', inp.h0, B * n);
  if (inp.c0) checkArray(where, 'c0', inp.c0, B * n);
}
