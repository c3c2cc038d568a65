/**
 * ORNN (full precision) and QORNN (quantization-aware, Foucault et al. 2024).
 *
 * Cell: `h_t = σ(W h_{t−1} + x_t U + b)`, σ = identity in the reference code (`activation:
 * linear`) or ReLU / tanh / modReLU; readout `ŷ_t = f(h_t) V + c`, f = ReLU by default.
 * The recurrence is one fused `denseScan` (or `hadamardScan` for `orthogonal: hadamard`).
 *
 * W comes from an `@orthoquant/orthogonal` parameterization:
 * - ORNN: `cayley`, `scaledCayley` (D = diag(1, …, 1, −1, …, −1) with `negativeOnes` = ρ
 *   entries −1, default ⌊n/2⌋), `expMap`, `bjorck`
 *   (projection: W = Björck(V), V re-projected after every step), `projUNN-D`/`projUNN-T`
 *   (W updated by its own Riemannian step), `hadamard` (W = diag(sign u)·H/√m, STE);
 * - QORNN `ste-bjorck`: latent V → spectral normalisation → Björck → k-bit quantizer (STE);
 *   QORNN `ste-projUNN-D/T`: W kept orthogonal by projUNN steps, the forward uses q(W) (STE).
 *   U and V are quantized to `ioBits` (default `bits`), biases stay float; `quantizeIO: false`
 *   keeps U and V float (the reference's SpectralQSSM: only W at k bits).
 *
 * Init (`init`, default `auto`): skew parameterizations (Cayley, exp) start from Henaff's 2×2
 * rotations (`henaff`), `identity` (A = 0), `random` (N(0, 0.1²) skew entries) or expRNN's
 * `cayley` angles; parameterizations that hold W start from a Haar-random orthogonal matrix
 * (`random`, the default), `identity`, or the rotation blocks of `henaff`/`cayley`.
 * U and V are Glorot uniform, biases zero.
 */
import { tf, InputError } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { denseRnnLoss, denseScan, hadamardScan } from '@orthoquant/kernels';
import { bjorck, blockHadamRnn, cayley, expMap, hadamRnn, projUNN } from '@orthoquant/orthogonal';
import type { HadamardOperator, OrthogonalParameterization } from '@orthoquant/orthogonal';
import { BaseModel, fusedDense, lastStep, matrixDiagnostics, namedFromTensor } from './base.js';
import { cayleySkew, expBlockSkew, henaffSkew } from './init.js';
import { quantizeSte } from './quant.js';
import type { ManagedParameter, ModelDiagnostics, ModelIO, ModelState, NamedWeights, OrnnConfig, QatStrategy, QornnConfig, QuantizationInfo } from './types.js';

/** A QAT strategy is `ste-` + the orthogonal method it trains through. */
type QatStrategyMethod = QatStrategy extends `ste-${infer M}` ? M : never;

type DenseConfig = OrnnConfig | QornnConfig;

const SKEW_METHODS = new Set(['cayley', 'scaledCayley', 'expMap']);

function isPowerOfTwo(m: number): boolean {
  return Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0;
}

export class Ornn extends BaseModel {
  declare readonly config: DenseConfig;
  private readonly param: OrthogonalParameterization;
  private readonly operator: HadamardOperator | null = null;
  /** Bits of W (QORNN) or null. */
  readonly wBits: number | null;
  /** Bits of U and V (QORNN) or null. */
  readonly ioBits: number | null;

  constructor(config: DenseConfig, io: ModelIO, rng: Rng) {
    super(config, io);
    const n = config.hidden;
    this.wBits = config.type === 'qornn' ? config.bits : null;
    if (config.type === 'qornn' && config.quantizeIO === false && config.ioBits !== undefined) {
      throw new InputError(`quantizeIO: false keeps U and V float; remove ioBits (got ${config.ioBits})`, 'model.ioBits');
    }
    this.ioBits = config.type === 'qornn' && config.quantizeIO !== false ? (config.ioBits ?? config.bits) : null;
    this.addEmbedding(rng);
    this.addInputProjection(rng);
    this.param = this.makeParameterization(config, rng.fork('W'));
    this.owned.push(this.param);
    const structured = this.param.structured?.();
    if (structured && isPowerOfTwo(structured.blockSize)) this.operator = structured;
    if (this.param.managed) {
      this.adoptVariable('W', this.param.managed.variable);
    } else {
      const latents = this.param.variables();
      const name = SKEW_METHODS.has(this.method) ? 'A' : this.method === 'hadamard' ? 'u' : 'W';
      latents.forEach((v, i) => this.adoptVariable(latents.length === 1 ? name : `${name}${i}`, v));
    }
    if (config.activation === 'modrelu') this.addVariable('modreluBias', [n], rng.fork('modreluBias').uniformArray(n, -0.01, 0.01));
    this.addReadout(rng);
  }

  /** The orthogonal method in ORNN terms (QORNN's `ste-<method>` strategies name theirs). */
  get method(): OrnnConfig['orthogonal'] {
    const c = this.config;
    if (c.type === 'ornn') return c.orthogonal;
    return c.strategy.slice('ste-'.length) as QatStrategyMethod;
  }

  private makeParameterization(config: DenseConfig, rng: Rng): OrthogonalParameterization {
    const n = config.hidden;
    const method = this.method;
    const name = this.variableName('W');
    const seed = `${rng.seed}`;
    const init = config.init;
    if (SKEW_METHODS.has(method)) {
      const skewInit = init === 'cayley' ? cayleySkew(rng, n) : init === 'auto' || init === 'henaff' ? 'henaff' : init;
      if (method === 'expMap') return expMap(n, { init: skewInit, seed, name });
      const cfg = config as OrnnConfig;
      if (method === 'cayley') return cayley(n, { init: skewInit, seed, name });
      // scoRNN's D: n − ρ entries +1 then ρ entries −1 (fixed, independent of the seed, so
      // that the latent A alone describes W).
      const rho = cfg.negativeOnes ?? Math.floor(n / 2);
      if (!Number.isInteger(rho) || rho < 0 || rho > n) throw new InputError(`expected an integer in 0..${n}, got ${rho}`, 'model.negativeOnes');
      const d = Float32Array.from({ length: n }, (_, i) => (i < n - rho ? 1 : -1));
      return cayley(n, { init: skewInit, seed, name, d });
    }
    // Parameterizations that hold W itself.
    const w0 =
      init === 'henaff' ? expBlockSkew(henaffSkew(rng, n), n) : init === 'cayley' ? expBlockSkew(cayleySkew(rng, n), n) : init === 'identity' ? 'identity' : 'orthogonal';
    if (method === 'bjorck') {
      // ORNN: projection method (V re-projected each step); QORNN STE-Björck keeps V free.
      return bjorck(n, { init: w0, seed, name, retract: config.type === 'ornn' });
    }
    if (method === 'hadamard') {
      const m = (config as OrnnConfig).blockSize ?? n;
      if (!isPowerOfTwo(n) || !isPowerOfTwo(m) || m > n) {
        throw new InputError(`expected a power of two dividing model.hidden = ${n}, got ${m}`, 'model.blockSize');
      }
      const opts = { init: rng.fork('u').normalArray(n), name };
      return m === n ? hadamRnn(n, opts) : blockHadamRnn(n, m, opts);
    }
    // projUNN-D / projUNN-T: W is the state, updated by its own rank-k projected step.
    return projUNN(n, { variant: method === 'projUNN-D' ? 'D' : 'T', rank: config.projRank ?? 1, init: w0, seed, name });
  }

  /** W as the forward uses it (quantized for QORNN), differentiable. */
  recurrentMatrix(): tf.Tensor2D {
    return tf.tidy(() => {
      const w = this.param.managed ? (this.param.managed.variable as unknown as tf.Tensor2D) : this.param.matrix();
      return this.wBits === null ? w : quantizeSte(w, this.wBits);
    });
  }

  protected run(x: tf.Tensor, state: ModelState | null | undefined, wantState: boolean): { logits: tf.Tensor; state: ModelState } {
    return tf.tidy(() => {
      // Where `fusedDense` says so (ORTHOQUANT_FUSED_DENSE: default for n ≤ 256), the training loss with a dense W and σ ∈
      // {linear, ReLU, tanh}: the whole network as one op with checkpointed BPTT
      // (@orthoquant/kernels denseRnnLoss): nothing of size T·B·n is kept.
      const act = this.config.activation ?? 'linear';
      const hotIndices = x.rank === 2 && x.dtype === 'int32';
      const fusable = !this.operator && act !== 'modrelu' && !wantState && this.io.vocabSize === undefined && (x.rank === 3 || hotIndices) && fusedDense(this.hidden);
      const targets = fusable ? this.claimLossTargets() : null;
      if (targets) {
        const [T, B] = x.shape;
        const loss = denseRnnLoss(
          (hotIndices || x.dtype === 'float32' ? x : x.toFloat()) as tf.Tensor3D | tf.Tensor2D, this.q(this.v('U') as tf.Tensor2D, this.ioBits), this.v('b') as tf.Tensor1D,
          this.recurrentMatrix(), (state?.[0] ?? null) as tf.Tensor2D | null, this.q(this.v('V') as tf.Tensor2D, this.ioBits), this.v('c') as tf.Tensor1D,
          (this.readout === 'last' ? targets.reshape([B]) : targets.reshape([T, B])) as tf.Tensor2D | tf.Tensor1D,
          { activation: act as 'linear' | 'relu' | 'tanh', readoutRelu: this.config.readoutActivation === 'relu' },
        );
        return { logits: loss, state: [] };
      }
      const Z = this.projectInputs(x, this.q(this.v('U') as tf.Tensor2D, this.ioBits), this.v('b') as tf.Tensor1D);
      const opts = {
        activation: this.config.activation,
        ...(this.config.activation === 'modrelu' ? { modreluBias: this.v('modreluBias') as tf.Tensor1D } : {}),
      };
      const h0 = state?.[0] ?? null;
      const H = this.operator
        ? hadamardScan(Z, this.operator.signs(), h0, { ...opts, blockSize: this.operator.blockSize })
        : denseScan(Z, this.recurrentMatrix(), h0, opts);
      const logits = this.readoutLogits(H, this.q(this.v('V') as tf.Tensor2D, this.ioBits), this.v('c') as tf.Tensor1D, this.config.readoutActivation);
      return { logits, state: wantState ? [lastStep(H)] : [] };
    });
  }

  override trainableVariables() {
    const groups = super.trainableVariables();
    const managed = this.param.managed;
    if (managed) {
      groups.orthogonal = groups.orthogonal.filter((v) => v !== managed.variable);
      const p: ManagedParameter = { variable: managed.variable, step: (g, lr) => managed.step(g, lr) };
      groups.managed.push(p);
    }
    return groups;
  }

  afterStep(): void {
    this.param.afterStep?.();
  }

  quantization(): QuantizationInfo {
    const io = this.ioBits === null ? ({ bits: null, kind: 'float' } as const) : ({ bits: this.ioBits, kind: 'uniform' } as const);
    const w = this.method === 'hadamard' ? ({ bits: 1, kind: 'sign' } as const) : this.wBits === null ? ({ bits: null, kind: 'float' } as const) : ({ bits: this.wBits, kind: 'uniform' } as const);
    return { W: w, U: io, V: io, b: { bits: null, kind: 'float' }, c: { bits: null, kind: 'float' } };
  }

  diagnostics(): ModelDiagnostics {
    const w = tf.tidy(() => this.recurrentMatrix().dataSync().slice() as Float32Array);
    const d: ModelDiagnostics = matrixDiagnostics(w, this.hidden);
    if (this.operator) d.signs = this.operator.signsData();
    return d;
  }

  protected storedBits(): Record<string, { bits: number; overhead: number } | null> {
    const out: Record<string, { bits: number; overhead: number } | null> = {};
    if (this.method === 'hadamard') out.u = { bits: 1, overhead: 0 };
    else if (this.wBits !== null) out.W = { bits: this.wBits, overhead: 32 };
    if (this.ioBits !== null) out.U = out.V = { bits: this.ioBits, overhead: 32 };
    return out;
  }

  effectiveWeights(): NamedWeights {
    const out: NamedWeights = {};
    tf.tidy(() => {
      out.W = namedFromTensor(this.recurrentMatrix());
      out.U = namedFromTensor(this.q(this.v('U'), this.ioBits));
      out.V = namedFromTensor(this.q(this.v('V'), this.ioBits));
    });
    for (const k of ['b', 'c', 'embedding', 'modreluBias']) if (this.vars.has(k)) out[k] = namedFromTensor(this.v(k));
    return out;
  }
}
