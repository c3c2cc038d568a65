/**
 * Baselines of the papers' tables: LSTM, FastRNN, FastGRNN (Kusupati et al. 2018), float or
 * with every weight matrix quantized to `bits` (k-bit uniform, STE; biases and scalars float).
 *
 * - LSTM: `[i f g o] = x_t Wx + h_{t−1} Wh + b`; `c_t = σ(f) c_{t−1} + σ(i) tanh(g)`,
 *   `h_t = σ(o) tanh(c_t)`. Init: Wx Glorot, Wh random orthogonal per gate, forget bias 1.
 * - FastRNN: `h̃_t = tanh(x_t U + W h_{t−1} + b)`, `h_t = α h̃_t + β h_{t−1}`,
 *   α = sigmoid(α̂) (init ≈ 0.05), β = sigmoid(β̂) (init ≈ 0.95).
 * - FastGRNN: `a_t = x_t U + W h_{t−1}`, `z_t = σ(a_t + b_z)`, `h̃_t = tanh(a_t + b_h)`,
 *   `h_t = (ζ(1 − z_t) + ν) h̃_t + z_t h_{t−1}`, ζ = sigmoid(ζ̂) (ζ̂ = 1), ν = sigmoid(ν̂) (ν̂ = −4).
 * - Readout `ŷ = h V + c` (linear), every step or the last one.
 *
 * No fused kernel exists for these yet: the time loop is one small group of tfjs ops per step
 * (input projections for all steps are still one matmul before the loop).
 */
import { tf } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { BaseModel, namedFromTensor } from './base.js';
import { randomOrthogonal } from '@orthoquant/orthogonal';
import type { BaselineConfig, ModelDiagnostics, ModelIO, ModelState, NamedWeights, QuantizationInfo } from './types.js';

abstract class BaselineModel extends BaseModel {
  declare readonly config: BaselineConfig;
  /** Names of the quantized weight matrices. */
  protected abstract readonly matrices: readonly string[];

  /** The matrix as the forward uses it (quantized when `bits` is set). */
  protected m(name: string): tf.Tensor2D {
    return this.q(this.v(name) as tf.Tensor2D, this.config.bits);
  }

  quantization(): QuantizationInfo {
    const out: QuantizationInfo = {};
    for (const name of this.vars.keys()) {
      const quantized = this.config.bits !== null && this.matrices.includes(name);
      out[name] = quantized ? { bits: this.config.bits, kind: 'uniform' } : { bits: null, kind: 'float' };
    }
    return out;
  }

  diagnostics(): ModelDiagnostics {
    return {};
  }

  protected storedBits(): Record<string, { bits: number; overhead: number } | null> {
    const out: Record<string, { bits: number; overhead: number } | null> = {};
    if (this.config.bits !== null) for (const name of this.matrices) out[name] = { bits: this.config.bits, overhead: 32 };
    return out;
  }

  effectiveWeights(): NamedWeights {
    const out: NamedWeights = {};
    tf.tidy(() => {
      for (const name of this.vars.keys()) out[name] = namedFromTensor(this.matrices.includes(name) ? this.m(name) : this.v(name));
    });
    return out;
  }

  /** Stack per-step hidden states and read out. */
  protected finish(hs: tf.Tensor2D[]): tf.Tensor {
    const H = tf.stack(hs) as tf.Tensor3D;
    return this.readoutLogits(H, this.m('V'), this.v('c') as tf.Tensor1D, 'linear');
  }

  protected zeros(B: number): tf.Tensor2D {
    return tf.zeros([B, this.hidden]);
  }
}

export class Lstm extends BaselineModel {
  protected readonly matrices = ['Wx', 'Wh', 'V'] as const;

  constructor(config: BaselineConfig, io: ModelIO, rng: Rng) {
    super(config, io);
    const n = config.hidden;
    this.addEmbedding(rng);
    this.addInputProjection(rng, 4 * n, 'Wx', 'b');
    // Wh [n, 4n]: one random orthogonal n×n block per gate.
    const wh = new Float32Array(n * 4 * n);
    for (let g = 0; g < 4; g++) {
      const q = randomOrthogonal(n, rng.fork(`Wh/${g}`).seed);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) wh[i * 4 * n + g * n + j] = q[i * n + j];
    }
    this.addVariable('Wh', [n, 4 * n], wh);
    tf.tidy(() => this.v('b').assign(tf.concat([tf.zeros([n]), tf.ones([n]), tf.zeros([2 * n])]))); // forget bias 1
    this.addReadout(rng);
  }

  protected override isRecurrent(name: string): boolean {
    return name === 'Wh';
  }

  protected run(x: tf.Tensor, state: ModelState | null | undefined): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      const n = this.hidden;
      const Zx = this.projectInputs(x, this.m('Wx'), this.v('b') as tf.Tensor1D);
      const [T, B] = Zx.shape;
      const Wh = this.m('Wh');
      let h = state?.[0] ?? this.zeros(B);
      let c = state?.[1] ?? this.zeros(B);
      const hs: tf.Tensor2D[] = [];
      const steps = tf.unstack(Zx) as tf.Tensor2D[];
      for (let t = 0; t < T; t++) {
        const g = tf.add(steps[t], tf.matMul(h, Wh));
        const [i, f, gg, o] = tf.split(g, [n, n, n, n], 1);
        c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(gg)));
        h = tf.mul(tf.sigmoid(o), tf.tanh(c));
        hs.push(h);
      }
      return { logits: this.finish(hs), state: [h, c] };
    });
  }
}

export class FastRnn extends BaselineModel {
  protected readonly matrices = ['U', 'W', 'V'] as const;
  private readonly gated: boolean;

  constructor(config: BaselineConfig, io: ModelIO, rng: Rng) {
    super(config, io);
    const n = config.hidden;
    this.gated = config.type === 'fastgrnn';
    this.addEmbedding(rng);
    this.addInputProjection(rng, n, 'U', 'b');
    this.addVariable('W', [n, n], randomOrthogonal(n, rng.fork('W').seed));
    if (this.gated) {
      this.addVariable('bz', [n], new Float32Array(n));
      this.addVariable('zeta', [], Float32Array.of(1));
      this.addVariable('nu', [], Float32Array.of(-4));
    } else {
      this.addVariable('alpha', [], Float32Array.of(-3));
      this.addVariable('beta', [], Float32Array.of(3));
    }
    this.addReadout(rng);
  }

  protected run(x: tf.Tensor, state: ModelState | null | undefined): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      // `b` is FastRNN's bias, FastGRNN's b_h.
      const A = this.projectInputs(x, this.m('U'), this.v('b') as tf.Tensor1D);
      const [T, B] = A.shape;
      const Wt = tf.transpose(this.m('W')); // h W^T = (W h)^T in row convention
      let h = state?.[0] ?? this.zeros(B);
      const hs: tf.Tensor2D[] = [];
      const steps = tf.unstack(A) as tf.Tensor2D[];
      if (this.gated) {
        const bz = tf.sub(this.v('bz'), this.v('b')); // z uses x U + W h + b_z
        const zeta = tf.sigmoid(this.v('zeta'));
        const nu = tf.sigmoid(this.v('nu'));
        for (let t = 0; t < T; t++) {
          const a = tf.add(steps[t], tf.matMul(h, Wt));
          const z = tf.sigmoid(tf.add(a, bz));
          const cand = tf.tanh(a);
          h = tf.add(tf.mul(tf.add(tf.mul(zeta, tf.sub(1, z)), nu), cand), tf.mul(z, h)) as tf.Tensor2D;
          hs.push(h);
        }
      } else {
        const alpha = tf.sigmoid(this.v('alpha'));
        const beta = tf.sigmoid(this.v('beta'));
        for (let t = 0; t < T; t++) {
          const cand = tf.tanh(tf.add(steps[t], tf.matMul(h, Wt)));
          h = tf.add(tf.mul(alpha, cand), tf.mul(beta, h)) as tf.Tensor2D;
          hs.push(h);
        }
      }
      return { logits: this.finish(hs), state: [h] };
    });
  }
}
