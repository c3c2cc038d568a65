/**
 * The fused LSTM scan as one tfjs op (defined with defineFusedOp in tf-kernels.ts) and on
 * plain Float32Arrays. Same implementation choice as the RNN scans (`setKernelImplementation`).
 */
import { tf } from '@orthoquant/runtime';
import { checkLstm } from './lstm-spec.js';
import type { LstmGradients, LstmImplementation, LstmInputs, LstmOutputs, LstmSpec } from './lstm-spec.js';
import { selectImplementation } from './implementation.js';
import type { KernelImplementation } from './implementation.js';
import { LSTM_IMPLEMENTATIONS, runLstmKernel } from './tf-kernels.js';

/**
 * LSTM over T steps as one op (gate order i, f, g, o):
 *   a_t = G[t] + h_{t−1} W_hhᵀ,  c_t = σ(a_f) ⊙ c_{t−1} + σ(a_i) ⊙ tanh(a_g),  h_t = σ(a_o) ⊙ tanh(c_t).
 * - gates: [T, B, 4n], the input part x_t W_ihᵀ + b computed outside; W_hh: [4n, n].
 * - h0, c0: [B, n] (zeros if null). Returns H: [T, B, n].
 * - Differentiable w.r.t. gates, W_hh, h0 and c0. Saves H, C and the gate activations (6·T·B·n).
 */
export function lstmScan(gates: tf.Tensor3D, Whh: tf.Tensor2D, h0?: tf.Tensor2D | null, c0?: tf.Tensor2D | null): tf.Tensor3D {
  const where = 'lstmScan';
  if (!(gates instanceof tf.Tensor) || gates.rank !== 3 || gates.shape[2] % 4 !== 0) {
    throw new Error(`${where}: gates must be a rank-3 tensor [T, B, 4n], got ${gates instanceof tf.Tensor ? `[${gates.shape.join(', ')}]` : typeof gates}`);
  }
  const [, B, n4] = gates.shape;
  const n = n4 / 4;
  if (Whh.rank !== 2 || Whh.shape[0] !== n4 || Whh.shape[1] !== n) {
    throw new Error(`${where}: W_hh must be [${n4}, ${n}] to match gates [${gates.shape.join(', ')}], got [${Whh.shape.join(', ')}]`);
  }
  for (const [name, s] of [['h0', h0], ['c0', c0]] as const) {
    if (s && (s.rank !== 2 || s.shape[0] !== B || s.shape[1] !== n)) throw new Error(`${where}: ${name} must be [${B}, ${n}], got [${s.shape.join(', ')}]`);
  }
  for (const [name, t] of [['gates', gates], ['W_hh', Whh], ['h0', h0], ['c0', c0]] as const) {
    if (t && t.dtype !== 'float32') throw new Error(`${where}: ${name} must be float32, got ${t.dtype}`);
  }
  const { name: implementation, threads } = selectImplementation(LSTM_IMPLEMENTATIONS);
  return runLstmKernel({ gates, w: Whh, h0: h0 ?? undefined, c0: c0 ?? undefined }, { hasH0: Boolean(h0), hasC0: Boolean(c0), threads, implementation });
}

/** Forward LSTM scan on Float32Arrays: H, C and the gate activations S (what BPTT needs). */
export function lstmForward(spec: LstmSpec, inp: LstmInputs, opts: { out?: LstmOutputs; implementation?: KernelImplementation } = {}): LstmOutputs {
  checkLstm(spec, inp, 'lstmForward');
  const size = spec.T * spec.B * spec.n;
  const out = opts.out ?? { H: new Float32Array(size), C: new Float32Array(size), S: new Float32Array(4 * size) };
  if (out.H.length !== size || out.C.length !== size || out.S.length !== 4 * size) throw new Error(`lstmForward: output buffers must hold ${size}, ${size} and ${4 * size} values`);
  const { impl, threads } = selectImplementation(LSTM_IMPLEMENTATIONS, opts.implementation);
  impl.forward(spec, inp, out, threads);
  return out;
}

/** Backward LSTM scan on Float32Arrays from dL/dH and the forward outputs. */
export function lstmBackward(spec: LstmSpec, inp: LstmInputs, saved: LstmOutputs, dH: Float32Array, opts: { implementation?: KernelImplementation } = {}): LstmGradients {
  checkLstm(spec, inp, 'lstmBackward');
  const { T, B, n } = spec;
  if (dH.length !== T * B * n) throw new Error(`lstmBackward: dH has ${dH.length} values, expected ${T * B * n}`);
  const g: LstmGradients = {
    dgates: new Float32Array(T * B * 4 * n),
    dw: new Float32Array(4 * n * n),
    dh0: inp.h0 ? new Float32Array(B * n) : null,
    dc0: inp.c0 ? new Float32Array(B * n) : null,
  };
  const { impl, threads } = selectImplementation(LSTM_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, inp, saved, dH, g, threads);
  return g;
}
