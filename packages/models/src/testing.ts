/**
 * Fixtures for tests (kept out of the main barrel): tiny configs of every model, seeded
 * inputs, and a plain-JS per-step reference of the ORNN/HadamRNN forward pass computed from
 * `effectiveWeights()` — the definition the fused models must agree with.
 */
import { tf, createRng } from '@orthoquant/runtime';
import type { ModelConfig, ModelIO, NamedWeights } from './types.js';

export const TINY_IO: ModelIO = { inputSize: 3, outputSize: 5, readout: 'many-to-many' };

/** One small config per model variant (hidden 8). */
export function tinyConfigs(hidden = 8): { label: string; config: ModelConfig }[] {
  const c = { hidden, readout: 'auto' as const };
  return [
    { label: 'ornn cayley linear', config: { type: 'ornn', ...c, activation: 'linear', orthogonal: 'cayley', init: 'auto', readoutActivation: 'relu' } },
    { label: 'ornn scaledCayley relu', config: { type: 'ornn', ...c, activation: 'relu', orthogonal: 'scaledCayley', init: 'random', readoutActivation: 'relu' } },
    { label: 'ornn expMap tanh', config: { type: 'ornn', ...c, activation: 'tanh', orthogonal: 'expMap', init: 'henaff', readoutActivation: 'linear' } },
    { label: 'ornn bjorck modrelu', config: { type: 'ornn', ...c, activation: 'modrelu', orthogonal: 'bjorck', init: 'random', readoutActivation: 'relu' } },
    { label: 'ornn hadamard block 4', config: { type: 'ornn', ...c, activation: 'linear', orthogonal: 'hadamard', blockSize: 4, init: 'auto', readoutActivation: 'relu' } },
    { label: 'ornn projUNN-D', config: { type: 'ornn', ...c, activation: 'linear', orthogonal: 'projUNN-D', projRank: 2, init: 'auto', readoutActivation: 'relu' } },
    { label: 'qornn ste-projUNN-T 5 bits', config: { type: 'qornn', ...c, activation: 'linear', strategy: 'ste-projUNN-T', bits: 5, init: 'auto', readoutActivation: 'relu' } },
    { label: 'qornn ste-bjorck 4 bits', config: { type: 'qornn', ...c, activation: 'linear', strategy: 'ste-bjorck', bits: 4, init: 'auto', readoutActivation: 'relu' } },
    { label: 'hadamrnn p=4', config: { type: 'hadamrnn', ...c, activation: 'linear', bits: 4, readoutActivation: 'relu' } },
    { label: 'block-hadamrnn m=4 float io', config: { type: 'hadamrnn', ...c, activation: 'relu', blockSize: 4, bits: null, readoutActivation: 'relu' } },
    { label: 'lstm', config: { type: 'lstm', ...c, bits: null } },
    { label: 'lstm 4 bits', config: { type: 'lstm', ...c, bits: 4 } },
    { label: 'fastrnn', config: { type: 'fastrnn', ...c, bits: null } },
    { label: 'fastgrnn 6 bits', config: { type: 'fastgrnn', ...c, bits: 6 } },
  ];
}

/** Seeded N(0, 1) inputs [T, B, d]. */
export function randomInputs(T: number, B: number, d: number, seed = 1): tf.Tensor3D {
  return tf.tensor3d(createRng(seed).normalArray(T * B * d), [T, B, d]);
}

function act(a: string, z: number, bias = 0): number {
  if (a === 'relu') return Math.max(z, 0);
  if (a === 'tanh') return Math.tanh(z);
  if (a === 'modrelu') return Math.sign(z) * Math.max(Math.abs(z) + bias, 0);
  return z;
}

/**
 * Per-step float64 reference of `h_t = σ(W h_{t−1} + x_t U + b)`, `ŷ_t = f(h_t) V + c`
 * from effective weights; returns logits [T·B·out] (many-to-many) or [B·out] (last).
 */
export function referenceRnnForward(
  w: NamedWeights,
  x: Float32Array,
  dims: { T: number; B: number },
  opts: { activation: string; readoutActivation: string; readout: 'many-to-many' | 'last' },
): Float64Array {
  const { T, B } = dims;
  const [d, n] = w.U.shape;
  const out = w.V.shape[1];
  const W = w.W.data;
  const bias = w.modreluBias?.data;
  let h = new Float64Array(B * n);
  const logits = new Float64Array((opts.readout === 'last' ? 1 : T) * B * out);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        let z = w.b.data[i];
        for (let j = 0; j < n; j++) z += W[i * n + j] * h[b * n + j];
        for (let k = 0; k < d; k++) z += x[(t * B + b) * d + k] * w.U.data[k * n + i];
        next[b * n + i] = act(opts.activation, z, bias?.[i] ?? 0);
      }
    }
    h = next;
    if (opts.readout === 'many-to-many' || t === T - 1) {
      const row = opts.readout === 'last' ? 0 : t;
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < out; o++) {
          let y = w.c.data[o];
          for (let i = 0; i < n; i++) y += (opts.readoutActivation === 'relu' ? Math.max(h[b * n + i], 0) : h[b * n + i]) * w.V.data[i * out + o];
          logits[(row * B + b) * out + o] = y;
        }
      }
    }
  }
  return logits;
}

/**
 * The per-step LSTM (gate order i, f, g, o; one small group of tfjs ops per step, differentiated
 * by tfjs): `a_t = Zx[t] + h_{t−1} Wh`, `c_t = σ(f) c_{t−1} + σ(i) tanh(g)`, `h_t = σ(o) tanh(c_t)`.
 * The definition the fused `Lstm` (lstmScan + `lstmFinalCell`) must agree with.
 * Zx `[T, B, 4n]` (input part with bias), Wh `[n, 4n]`; returns H `[T, B, n]` and the final (h, c).
 */
export function stepwiseLstm(Zx: tf.Tensor3D, Wh: tf.Tensor2D, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null): { H: tf.Tensor3D; h: tf.Tensor2D; c: tf.Tensor2D } {
  return tf.tidy(() => {
    const [T, B, n4] = Zx.shape;
    const n = n4 / 4;
    let h = h0 ?? tf.zeros<tf.Rank.R2>([B, n]);
    let c = c0 ?? tf.zeros<tf.Rank.R2>([B, n]);
    const hs: tf.Tensor2D[] = [];
    const steps = tf.unstack(Zx) as tf.Tensor2D[];
    for (let t = 0; t < T; t++) {
      const g = tf.add(steps[t], tf.matMul(h, Wh));
      const [i, f, gg, o] = tf.split(g, [n, n, n, n], 1);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(gg)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      hs.push(h);
    }
    return { H: tf.stack(hs) as tf.Tensor3D, h, c };
  });
}
