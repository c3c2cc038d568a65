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
 * LSTM trains through `lstmRnnLoss` (the whole loss as one op with checkpointed BPTT; float or
 * one-hot inputs, `ORTHOQUANT_FUSED_LSTM=0` to disable); otherwise, and for inference, it runs
 * as one fused `lstmScan` (input projection for all steps as one matmul before it, the readout
 * as one matmul after it); its final cell state, needed only when the state is
 * carried (PTB), is recovered in closed form by `lstmFinalCell` (batched ops, no time loop).
 * FastRNN/FastGRNN have no fused kernel (their state is not an LSTM cell nor a dense-scan
 * state): their time loop is one small group of tfjs ops per step (input projections for all
 * steps are still one matmul before the loop). The per-step LSTM is kept as the test
 * reference in testing.ts (`stepwiseLstm`).
 */
import { tf } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { lstmRnnLoss, lstmScan } from '@orthoquant/kernels';
import { BaseModel, fusedLstm, lastStep, namedFromTensor } from './base.js';
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

  protected run(x: tf.Tensor, state: ModelState | null | undefined, wantState: boolean): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      // The training loss as one op (`fusedLstm`: ORTHOQUANT_FUSED_LSTM, default on): projection
      // (a gather for hot indices), LSTM, readout and cross-entropy with checkpointed BPTT
      // (@orthoquant/kernels lstmRnnLoss): nothing of size T·B·n is kept. Not for token inputs
      // (the embedding's gradient) nor when the final state is wanted.
      const hotIndices = x.rank === 2 && x.dtype === 'int32';
      const fusable = !wantState && this.io.vocabSize === undefined && (x.rank === 3 || hotIndices) && fusedLstm();
      const targets = fusable ? this.claimLossTargets() : null;
      if (targets) {
        const [T, B] = x.shape;
        const loss = lstmRnnLoss(
          (hotIndices || x.dtype === 'float32' ? x : x.toFloat()) as tf.Tensor3D | tf.Tensor2D, this.m('Wx'), this.v('b') as tf.Tensor1D, this.m('Wh'),
          (state?.[0] ?? null) as tf.Tensor2D | null, (state?.[1] ?? null) as tf.Tensor2D | null, this.m('V'), this.v('c') as tf.Tensor1D,
          (this.readout === 'last' ? targets.reshape([B]) : targets.reshape([T, B])) as tf.Tensor2D | tf.Tensor1D,
        );
        return { logits: loss, state: [] };
      }
      const Zx = this.projectInputs(x, this.m('Wx'), this.v('b') as tf.Tensor1D);
      const Wh = this.m('Wh'); // [n, 4n]: a = h Wh; the kernel takes W_hh = Whᵀ [4n, n]
      const h0 = state?.[0] ?? null;
      const c0 = state?.[1] ?? null;
      const H = lstmScan(Zx, tf.transpose(Wh), h0, c0);
      const logits = this.readoutLogits(H, this.m('V'), this.v('c') as tf.Tensor1D, 'linear');
      return { logits, state: wantState ? [lastStep(H), lstmFinalCell(Zx, Wh, H, h0, c0)] : [] };
    });
  }
}

/**
 * The final cell state c_T of an LSTM whose hidden states H `[T, B, n]` are known (lstmScan
 * returns H only). With the gates recomputed for all steps at once (`a_t = Zx[t] + h_{t−1} Wh`,
 * one `[T·B, n]·[n, 3n]` matmul; o is not needed), the cell recurrence
 * `c_t = f_t c_{t−1} + i_t g_t` is linear, so
 *   c_T = Σ_t (Π_{s>t} f_s) i_t g_t + (Π_s f_s) c_0,  Π_{s>t} f_s = exp(Σ_{s>t} log σ(a_f,s)),
 * a reverse exclusive cumsum over time: batched ops, no time loop, differentiable.
 */
export function lstmFinalCell(Zx: tf.Tensor3D, Wh: tf.Tensor2D, H: tf.Tensor3D, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null): tf.Tensor2D {
  return tf.tidy(() => {
    const [T, B, n4] = Zx.shape;
    const n = n4 / 4;
    const Bn = B * n;
    const first = h0 ? h0.reshape([1, Bn]) : tf.zeros([1, Bn]);
    const hPrev = T > 1 ? tf.concat([first, tf.slice(H.reshape([T, Bn]), [0, 0], [T - 1, Bn])], 0) : first; // [T, B·n]
    const A = tf.add(tf.slice(Zx.reshape([T * B, n4]), [0, 0], [T * B, 3 * n]), tf.matMul(hPrev.reshape([T * B, n]), tf.slice(Wh, [0, 0], [n, 3 * n])));
    const [ai, af, ag] = tf.split(A, 3, 1);
    const u = tf.mul(tf.sigmoid(ai), tf.tanh(ag)).reshape([T, Bn]); // i_t g_t
    // Time innermost for the cumsum (tfjs's Cumsum gradient is wrong on a non-innermost axis).
    const logF = tf.transpose(tf.neg(tf.softplus(tf.neg(af))).reshape([T, Bn])); // log σ(a_f), [B·n, T] (tf.logSigmoid's gradient reads a tensor a tidy may have freed)
    const after = tf.cumsum(logF, 1, true, true); // Σ_{s>t} log f_s
    let c = tf.sum(tf.mul(tf.exp(after), tf.transpose(u)), 1); // [B·n]
    if (c0) c = tf.add(c, tf.mul(tf.exp(tf.sum(logF, 1)), c0.reshape([Bn])));
    return c.reshape([B, n]) as tf.Tensor2D;
  });
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
