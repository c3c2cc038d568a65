/**
 * HadamRNN and Block-HadamRNN (Foucault et al., ICLR 2025).
 *
 * - `W = diag(sign u) · (I_{n/m} ⊗ H_m) / √m`: u ∈ ℝⁿ is the only recurrent parameter, sign
 *   with an identity STE; m = n is HadamRNN, m < n Block-HadamRNN (ternary, 1 − m/n zeros).
 * - `h_t = σ(W h_{t−1} + x_t U + b)`, σ = identity in the reference code; readout
 *   `ŷ_t = f(h_t) V + c`, f = ReLU.
 * - U and V at p bits (k-bit uniform quantizer, STE; p = 4 in the papers), biases float.
 * - The recurrence runs as one fused `hadamardScan` (fast Walsh–Hadamard transform), the
 *   whole many-to-many training loss as `hadamardRnnLoss`. Orders m = p·2^k that are not
 *   powers of two (96 = 12·8, 192 = 12·16; p a Paley / Kronecker order) use H_m = H_p ⊗ H_{2^k}
 *   through the same ops (FWHT of each 2^k-slice, then a p × p ±1 transform of additions and
 *   subtractions; native and JS kernels).
 * - Init (the reference code's defaults): u Xavier-uniform on a [1, n] tensor, U(±√(6/(n+1)))
 *   (`uInit: xavier`; `normal` draws N(0, 1), our earlier default), U and V Glorot uniform,
 *   biases U(±1/√fan_in) (`biasInit`, see base.ts).
 */
import { tf, InputError } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { hadamardScan, hadamardRnnLoss } from '@orthoquant/kernels';
import { blockHadamRNN, blockKroneckerHadamard, hadamardFactors, hadamRNN } from '@orthoquant/orthogonal';
import type { HadamardOperator } from '@orthoquant/orthogonal';
import { BaseModel, fusedStep, lastStep, matrixDiagnostics, namedFromTensor } from './base.js';
import { quantizeSte } from './quant.js';
import type { HadamRnnConfig, ModelDiagnostics, ModelIO, ModelState, NamedWeights, QuantizationInfo } from './types.js';

export class HadamRnn extends BaseModel {
  declare readonly config: HadamRnnConfig;
  readonly blockSize: number;
  private readonly operator: HadamardOperator;

  constructor(config: HadamRnnConfig, io: ModelIO, rng: Rng) {
    super(config, io);
    const n = config.hidden;
    const m = config.blockSize ?? n;
    const orders = 'p·2^k with a Hadamard matrix of order p (2^k, 12 = Paley, 20, 24, 28, …, 96 = 12·8, 192 = 12·16)';
    if (!hadamardFactors(n)) throw new InputError(`expected a Hadamard order ${orders}, got ${n}`, 'model.hidden');
    if (!Number.isInteger(m) || m < 1 || n % m !== 0 || !hadamardFactors(m)) throw new InputError(`expected a Hadamard order dividing model.hidden = ${n} (${orders}), got ${m}`, 'model.blockSize');
    this.blockSize = m;
    this.addEmbedding(rng);
    this.addInputProjection(rng);
    const ur = rng.fork('u');
    const xavier = Math.sqrt(6 / (n + 1));
    const init = (config.uInit ?? 'xavier') === 'normal' ? ur.normalArray(n) : ur.uniformArray(n, -xavier, xavier);
    const opts = { init, name: this.variableName('u') };
    const p = m === n ? hadamRNN(n, opts) : blockHadamRNN(n, m, opts);
    this.owned.push(p);
    this.adoptVariable('u', p.variables()[0]);
    this.operator = p.structured!();
    if (config.activation === 'modrelu') this.addVariable('modreluBias', [n], rng.fork('modreluBias').uniformArray(n, -0.01, 0.01));
    this.addReadout(rng);
  }

  protected run(x: tf.Tensor, state: ModelState | null | undefined, wantState: boolean): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      const bits = this.config.bits;
      const s = this.operator.signs();
      const { p, hadamardP } = this.operator.factors;
      const order = p > 1 ? { p, hp: hadamardP } : {};
      // The training loss (softmax CE on every step or on the last one) with float inputs or one-hot
      // inputs given as their hot index: the whole network as one op with reversible BPTT, memory
      // independent of T (@orthoquant/kernels hadamardRnnLoss). Orders p·2^k included.
      const linear = (this.config.activation ?? 'linear') === 'linear';
      const hotIndices = x.rank === 2 && x.dtype === 'int32';
      const targets = linear && !wantState && this.io.vocabSize === undefined && (x.rank === 3 || hotIndices) && fusedStep() ? this.claimLossTargets() : null;
      if (targets) {
        const [T, B] = x.shape;
        const loss = hadamardRnnLoss(
          (hotIndices || x.dtype === 'float32' ? x : x.toFloat()) as tf.Tensor3D | tf.Tensor2D, this.q(this.v('U') as tf.Tensor2D, bits), this.v('b') as tf.Tensor1D, s,
          (state?.[0] ?? null) as tf.Tensor2D | null, this.q(this.v('V') as tf.Tensor2D, bits), this.v('c') as tf.Tensor1D,
          (this.readout === 'last' ? targets.reshape([B]) : targets.reshape([T, B])) as tf.Tensor2D | tf.Tensor1D,
          { blockSize: this.blockSize, ...order, readoutRelu: this.config.readoutActivation === 'relu' },
        );
        return { logits: loss, state: [] };
      }
      const Z = this.projectInputs(x, this.q(this.v('U') as tf.Tensor2D, bits), this.v('b') as tf.Tensor1D);
      const opts = {
        // Reversible BPTT (the default where it applies) keeps z instead of H; with a many-to-many
        // readout H is kept by the readout anyway, so there it would only add z.
        reversible: this.readout === 'last' ? ('auto' as const) : false,
        activation: this.config.activation,
        blockSize: this.blockSize,
        ...order,
        ...(this.config.activation === 'modrelu' ? { modreluBias: this.v('modreluBias') as tf.Tensor1D } : {}),
      };
      const H = hadamardScan(Z, s, state?.[0] ?? null, opts);
      const logits = this.readoutLogits(H, this.q(this.v('V') as tf.Tensor2D, bits), this.v('c') as tf.Tensor1D, this.config.readoutActivation);
      return { logits, state: wantState ? [lastStep(H)] : [] };
    });
  }

  /** The latent u (a copy). */
  latentU(): Float32Array {
    return this.v('u').dataSync().slice() as Float32Array;
  }

  /** Signs of u as ±1 (sign(0) = +1). */
  signs(): Int8Array {
    return this.operator.signsData();
  }

  /** The dense W = diag(sign u)·(I ⊗ H_m)/√m, row-major (H_m = H_p ⊗ H_{2^k}). */
  denseW(): Float32Array {
    const n = this.hidden;
    const m = this.blockSize;
    const h = blockKroneckerHadamard(n, m);
    const s = this.signs();
    const scale = 1 / Math.sqrt(m);
    const w = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[i * n + j] = s[i] * h[i * n + j] * scale;
    return w;
  }

  quantization(): QuantizationInfo {
    const p = this.config.bits;
    const io = p === null ? ({ bits: null, kind: 'float' } as const) : ({ bits: p, kind: 'uniform' } as const);
    return { W: { bits: 1, kind: 'sign' }, U: io, V: io, b: { bits: null, kind: 'float' }, c: { bits: null, kind: 'float' } };
  }

  diagnostics(): ModelDiagnostics {
    return { ...matrixDiagnostics(this.denseW(), this.hidden), signs: this.signs() };
  }

  protected storedBits(): Record<string, { bits: number; overhead: number } | null> {
    const p = this.config.bits;
    const io = p === null ? null : { bits: p, overhead: 32 };
    // W is described by the n signs of u; 1/√m is a constant of the architecture.
    return { u: { bits: 1, overhead: 0 }, U: io, V: io };
  }

  effectiveWeights(): NamedWeights {
    const bits = this.config.bits;
    const out: NamedWeights = { W: { shape: [this.hidden, this.hidden], data: this.denseW() } };
    tf.tidy(() => {
      out.U = namedFromTensor(bits === null ? this.v('U') : quantizeSte(this.v('U'), bits));
      out.V = namedFromTensor(bits === null ? this.v('V') : quantizeSte(this.v('V'), bits));
    });
    for (const k of ['b', 'c', 'embedding', 'modreluBias']) if (this.vars.has(k)) out[k] = namedFromTensor(this.v(k));
    return out;
  }
}
