/**
 * What every model shares: named variables (with their parameter group), the token
 * embedding, the input projection `x U + b` for all T·B rows as one matmul, the readout
 * `f(h) V + c` as one matmul (or on the last step only), weight I/O and size accounting.
 */
import { tf, InputError, setting } from '@orthoquant/runtime';
import type { Rng } from '@orthoquant/runtime';
import { affineRows as fusedAffineRows, readoutCrossEntropy } from '@orthoquant/kernels';
import { orthogonalityError } from '@orthoquant/orthogonal';
import { glorotUniform } from './init.js';
import { quantizeSte } from './quant.js';
import type {
  ModelConfig,
  ModelDiagnostics,
  ModelIO,
  ModelState,
  NamedWeights,
  ParameterGroups,
  QuantizationInfo,
  Readout,
  RecurrentModel,
  SizeEntry,
  SizeReport,
} from './types.js';

let instances = 0;

interface VarEntry {
  variable: tf.Variable;
  group: 'orthogonal' | 'other';
}

export abstract class BaseModel implements RecurrentModel {
  readonly readout: Readout;
  readonly hidden: number;
  /** Width of what enters the input projection (embedding size for tokens). */
  readonly inputWidth: number;
  protected readonly vars = new Map<string, VarEntry>();
  private readonly prefix: string;
  /** Disposers of things not in `vars` (parameterizations, constants). */
  protected readonly owned: { dispose(): void }[] = [];
  private disposed = false;
  /** While `trainingLoss` runs: the targets the readout turns into the fused loss. */
  private lossTargets: tf.Tensor | null = null;
  private lossFused = false;

  constructor(
    readonly config: ModelConfig,
    readonly io: ModelIO,
  ) {
    this.prefix = `${config.type}#${++instances}`;
    this.hidden = config.hidden;
    this.readout = config.readout === undefined || config.readout === 'auto' ? io.readout : config.readout;
    if (io.vocabSize !== undefined) {
      const dim = config.embeddingDim;
      if (dim === undefined) throw new InputError(`the task has token inputs (vocabulary ${io.vocabSize}): set an embedding size`, 'model.embeddingDim');
      this.inputWidth = dim;
    } else {
      this.inputWidth = io.inputSize;
    }
  }

  // ---- variables -------------------------------------------------------------------

  protected addVariable(name: string, shape: number[], data: Float32Array, group: 'orthogonal' | 'other' = 'other'): tf.Variable {
    if (this.vars.has(name)) throw new Error(`${this.prefix}: variable '${name}' defined twice`);
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`${this.prefix}: '${name}' expects ${size} values for shape [${shape}], got ${data.length}`);
    const init = tf.tensor(data, shape);
    const v = tf.variable(init, true, `${this.prefix}/${name}`, 'float32');
    init.dispose(); // the variable holds its own reference to the data
    this.vars.set(name, { variable: v, group });
    return v;
  }

  /** Register variables created elsewhere (an orthogonal parameterization's latents). */
  protected adoptVariable(name: string, variable: tf.Variable, group: 'orthogonal' | 'other' = 'orthogonal'): void {
    if (this.vars.has(name)) throw new Error(`${this.prefix}: variable '${name}' defined twice`);
    this.vars.set(name, { variable, group });
  }

  /** A unique tfjs variable name for a variable created elsewhere. */
  protected variableName(name: string): string {
    return `${this.prefix}/${name}`;
  }

  protected v(name: string): tf.Variable {
    const e = this.vars.get(name);
    if (!e) throw new Error(`${this.prefix}: no variable '${name}'`);
    return e.variable;
  }

  /** The embedding row that stays zero and untrained (`paddingIdx`, default 0), or null. */
  protected get paddingIdx(): number | null {
    const p = this.config.paddingIdx === undefined ? 0 : this.config.paddingIdx;
    if (p !== null && this.io.vocabSize !== undefined && !(Number.isInteger(p) && p >= 0 && p < this.io.vocabSize)) {
      throw new InputError(`expected a token id in 0..${this.io.vocabSize - 1} or null, got ${p}`, 'model.paddingIdx');
    }
    return p;
  }

  /**
   * Token embedding (when the task has tokens), float, N(0, 1) rows as in torch's default;
   * the padding row (`paddingIdx`) is zero and gets no gradient, as `nn.Embedding(padding_idx=0)`.
   */
  protected addEmbedding(rng: Rng): void {
    if (this.io.vocabSize === undefined) return;
    const d = this.inputWidth;
    const data = rng.fork('embedding').normalArray(this.io.vocabSize * d);
    const pad = this.paddingIdx;
    if (pad !== null) data.fill(0, pad * d, (pad + 1) * d);
    this.addVariable('embedding', [this.io.vocabSize, d], data);
  }

  /** A bias of `cols` values: U(±1/√fanIn) (`biasInit: fan-in`, nn.Linear's default) or zeros. */
  protected biasValues(rng: Rng, fanIn: number, cols: number): Float32Array {
    if ((this.config.biasInit ?? 'fan-in') === 'zeros') return new Float32Array(cols);
    const a = 1 / Math.sqrt(fanIn);
    return rng.uniformArray(cols, -a, a);
  }

  /**
   * U `[inputWidth, cols]` (Glorot) and b `[cols]` (`biasInit`). The reference code puts b on
   * the recurrent layer (`nn.Linear(n, n)`; its input layer has no bias), so its fan-in is the
   * hidden size n: b ~ U(±1/√n) — as torch's LSTM biases are U(±1/√hidden).
   */
  protected addInputProjection(rng: Rng, cols = this.hidden, uName = 'U', bName = 'b'): void {
    this.addVariable(uName, [this.inputWidth, cols], glorotUniform(rng.fork(uName), this.inputWidth, cols));
    this.addVariable(bName, [cols], this.biasValues(rng.fork(bName), this.hidden, cols));
  }

  /** V `[n, out]` (Glorot) and c `[out]` (`biasInit`). */
  protected addReadout(rng: Rng): void {
    const out = this.io.outputSize;
    this.addVariable('V', [this.hidden, out], glorotUniform(rng.fork('V'), this.hidden, out));
    this.addVariable('c', [out], this.biasValues(rng.fork('c'), this.hidden, out));
  }

  trainableVariables(): ParameterGroups {
    const groups: ParameterGroups = { orthogonal: [], other: [], managed: [] };
    for (const e of this.vars.values()) groups[e.group].push(e.variable);
    return groups;
  }

  // ---- forward pieces --------------------------------------------------------------

  /**
   * Every model accepts one-hot float inputs as int32 `[T, B]` hot indices (`inputRows` expands
   * them; HadamRNN's fused step reads rows of U instead).
   */
  readonly oneHotIndices = true;

  /** Inputs as `[T·B, inputWidth]` rows (embedding lookup for tokens, one-hot rows for hot indices) and T, B. */
  protected inputRows(x: tf.Tensor): { rows: tf.Tensor2D; T: number; B: number } {
    if (this.io.vocabSize !== undefined) {
      if (x.rank !== 2) throw new Error(`${this.config.type}: token inputs must be [T, B] int32, got shape [${x.shape}]`);
      const [T, B] = x.shape;
      const ids = x.dtype === 'int32' ? x.reshape([T * B]) : x.toInt().reshape([T * B]);
      return { rows: embeddingLookup(this.v('embedding') as tf.Tensor2D, ids as tf.Tensor1D, this.paddingIdx), T, B };
    }
    if (x.rank === 2 && x.dtype === 'int32') {
      // One-hot inputs given as their hot index (`oneHotIndices`): the same rows as the dense batch.
      const [T, B] = x.shape;
      // (tf.oneHot's float32 dtype is broken on wasm: it writes the int32 bit pattern 1.)
      return { rows: tf.cast(tf.oneHot(x.reshape([T * B]) as tf.Tensor1D, this.io.inputSize), 'float32') as tf.Tensor2D, T, B };
    }
    if (x.rank !== 3 || x.shape[2] !== this.io.inputSize) {
      throw new Error(`${this.config.type}: inputs must be [T, B, ${this.io.inputSize}] float32 or int32 one-hot indices [T, B], got ${x.dtype} [${x.shape}]`);
    }
    const [T, B] = x.shape;
    return { rows: x.reshape([T * B, this.io.inputSize]), T, B };
  }

  /**
   * `x U + b` for every (t, b): `[T, B, cols]`. By default one fused kernel of
   * `@orthoquant/kernels` (`affineRows`: native or JS, dU and db in one pass over dZ, one-hot
   * rows cost one row of U); `ORTHOQUANT_FUSED_ROWS=0` selects the tfjs reference below.
   */
  protected projectInputs(x: tf.Tensor, U: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor3D {
    const { rows, T, B } = this.inputRows(x);
    if (fusedRows()) {
      const inputGrad = this.io.vocabSize !== undefined;
      return fusedAffineRows(rows.reshape([T, B, rows.shape[1]]), U, b, { inputGrad }) as tf.Tensor3D;
    }
    return inputProjection(rows, U, b, { inputGrad: this.io.vocabSize !== undefined, rowBlock: B, outShape: [T, B, U.shape[1]] }) as tf.Tensor3D;
  }

  /**
   * `f(h) V + c` over all T·B rows (one op: f, the reshapes and the matmul inside, so the tape
   * keeps one T·B·n copy, not three), or on h_{T−1} only for last-step readout.
   */
  protected readoutLogits(H: tf.Tensor3D, V: tf.Tensor2D, c: tf.Tensor1D, f: 'relu' | 'linear'): tf.Tensor {
    const [T, B] = H.shape;
    if (this.lossTargets) {
      // `trainingLoss`: the readout and the mean softmax cross-entropy as one op (no logits).
      this.lossFused = true;
      const targets = this.lossTargets.dtype === 'int32' ? this.lossTargets : this.lossTargets.toInt();
      if (this.readout === 'last') return readoutCrossEntropy(lastStep(H), V, c, targets.reshape([B]), { relu: f === 'relu', inputGrad: true });
      return readoutCrossEntropy(H, V, c, targets.reshape([T, B]), { relu: f === 'relu', inputGrad: true });
    }
    if (fusedRows()) {
      // One kernel, forward and backward: f, the matmul and c over all rows; dH, dV, dc in one
      // pass, no transpose, and the tape keeps H only (the scan saves it anyway).
      return fusedAffineRows(this.readout === 'last' ? lastStep(H) : H, V, c, { relu: f === 'relu', inputGrad: true });
    }
    if (this.readout === 'last') {
      const last = lastStep(H);
      return affineRows(f === 'relu' ? tf.relu(last) : last, V, c);
    }
    return affineRows(H, V, c, B, { relu: f === 'relu', outShape: [T, B, V.shape[1]] });
  }

  /**
   * For a model that computes the whole training loss in one op: while `trainingLoss` runs, the
   * int32 targets (`[T, B]` many-to-many, `[B]` last step), marking the loss as fused (`run` then
   * returns the scalar loss as its logits); otherwise null.
   */
  protected claimLossTargets(): tf.Tensor | null {
    if (!this.lossTargets) return null;
    this.lossFused = true;
    return this.lossTargets.dtype === 'int32' ? this.lossTargets : this.lossTargets.toInt();
  }

  /** `x` when `bits` is null, else the k-bit STE quantization of x. */
  protected q<R extends tf.Rank>(x: tf.Tensor<R>, bits: number | null | undefined): tf.Tensor<R> {
    return bits == null ? x : quantizeSte(x, bits);
  }

  /** The forward pass; the final state only when `wantState` (it costs a slice of H). */
  protected abstract run(x: tf.Tensor, state: ModelState | null | undefined, wantState: boolean): { logits: tf.Tensor; state: ModelState };

  forwardWithState(x: tf.Tensor, state?: ModelState | null): { logits: tf.Tensor; state: ModelState } {
    return this.run(x, state, true);
  }

  forward(x: tf.Tensor, state?: ModelState | null): tf.Tensor {
    const { logits, state: s } = this.run(x, state, false);
    tf.dispose(s);
    return logits;
  }

  /**
   * The mean softmax cross-entropy of the logits against `targets` (int32, `[T, B]` many-to-many
   * or `[B]` last step), equal to the trainer's loss on `forward(x, state)`, with the readout and
   * the loss fused (`readoutCrossEntropy`: the T·B·out logits and their softmax are never kept;
   * HadamRNN: the whole network as one op). The final state only when `wantState`.
   */
  trainingLoss(x: tf.Tensor, targets: tf.Tensor, state?: ModelState | null, wantState = false): { loss: tf.Scalar; state: ModelState } | null {
    if (this.lossTargets) return null;
    this.lossTargets = targets;
    this.lossFused = false;
    try {
      const r = this.run(x, state, wantState);
      if (!this.lossFused || r.logits.rank !== 0) {
        tf.dispose([r.logits, ...r.state]);
        throw new Error(`${this.config.type}.trainingLoss: the forward pass did not read out through readoutLogits`);
      }
      return { loss: r.logits as tf.Scalar, state: r.state };
    } finally {
      this.lossTargets = null;
      this.lossFused = false;
    }
  }

  abstract quantization(): QuantizationInfo;
  abstract diagnostics(): ModelDiagnostics;
  abstract effectiveWeights(): NamedWeights;
  /** Bits per value of each stored variable (null = float, 32 bits, no overhead). */
  protected abstract storedBits(): Record<string, { bits: number; overhead: number } | null>;

  // ---- weights, size, lifetime -----------------------------------------------------

  getWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const [name, e] of this.vars) out[name] = { shape: [...e.variable.shape], data: e.variable.dataSync().slice() as Float32Array };
    return out;
  }

  setWeights(w: NamedWeights): void {
    for (const name of Object.keys(w)) if (!this.vars.has(name)) throw new Error(`${this.config.type}.setWeights: unknown weight '${name}'`);
    for (const [name, e] of this.vars) {
      const src = w[name];
      if (!src) throw new Error(`${this.config.type}.setWeights: missing weight '${name}'`);
      if (src.shape.length !== e.variable.shape.length || src.shape.some((d, i) => d !== e.variable.shape[i])) {
        throw new Error(`${this.config.type}.setWeights: '${name}' has shape [${src.shape}], expected [${e.variable.shape}]`);
      }
      tf.tidy(() => e.variable.assign(tf.tensor(src.data, e.variable.shape)));
    }
    this.weightsChanged();
  }

  /** Hook for models that cache something derived from their variables. */
  protected weightsChanged(): void {}

  sizeBits(): SizeReport {
    const stored = this.storedBits();
    const entries: SizeEntry[] = [];
    let parameterCount = 0;
    for (const [name, e] of this.vars) {
      const count = e.variable.size;
      parameterCount += count;
      const s = stored[name];
      const bitsPerValue = s ? s.bits : 32;
      const overheadBits = s ? s.overhead : 0;
      entries.push({ name, count, bitsPerValue, overheadBits, bits: count * bitsPerValue + overheadBits });
    }
    for (const [name, s] of Object.entries(stored)) {
      if (!this.vars.has(name) && s) throw new Error(`${this.config.type}.sizeBits: stored bits given for unknown '${name}'`);
    }
    const totalBits = entries.reduce((a, e) => a + e.bits, 0);
    const recurrentBits = entries.filter((e) => this.isRecurrent(e.name)).reduce((a, e) => a + e.bits, 0);
    return { entries, totalBits, totalBytes: Math.ceil(totalBits / 8), recurrentBits, parameterCount };
  }

  /** Which stored variables describe the recurrent weight (for `recurrentBits`). */
  protected isRecurrent(name: string): boolean {
    return name === 'W' || name === 'A' || name === 'u';
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // Parameterizations dispose their own latents; dispose each variable once.
    for (const o of this.owned) o.dispose();
    for (const e of this.vars.values()) if (!e.variable.isDisposed) e.variable.dispose();
    this.vars.clear();
    this.disposeExtra();
  }

  protected disposeExtra(): void {}
}

/**
 * Whether models that can compute their whole training loss as one op do so (default; HadamRNN:
 * `hadamardRnnLoss`, reversible BPTT; dense ORNN/QORNN also need `fusedDense()`):
 * `ORTHOQUANT_FUSED_STEP=0` (or `ORTHOQUANT_REVERSIBLE=0`) selects the composition of projection,
 * scan and fused readout loss instead.
 */
export function fusedStep(): boolean {
  return setting('fusedStep') && setting('reversible');
}

/**
 * Whether a dense ORNN/QORNN of hidden size n trains through `denseRnnLoss` (checkpointed BPTT:
 * no T·B·n tensor kept, and with the blocked native products the faster path at n = 128 and at
 * n = 512: benchmarks/issue-13.md): `ORTHOQUANT_FUSED_DENSE=auto` (default) and `1` always, `0`
 * never; and only with `fusedStep()`. `setFusedDense` overrides it from code (tests).
 */
let fusedDenseOverride: boolean | null = null;
export function fusedDense(_n: number): boolean {
  if (!fusedStep()) return false;
  if (fusedDenseOverride !== null) return fusedDenseOverride;
  return setting('fusedDense') !== '0';
}
export function setFusedDense(on: boolean | null): void {
  fusedDenseOverride = on;
}

/**
 * Whether the LSTM trains through `lstmRnnLoss` (the whole loss as one op, checkpointed BPTT: no
 * T·B·4n activation kept): `ORTHOQUANT_FUSED_LSTM=1` (default) and `fusedStep()`;
 * `ORTHOQUANT_FUSED_LSTM=0` selects projection, `lstmScan` and the fused readout loss.
 */
export function fusedLstm(): boolean {
  return fusedStep() && setting('fusedLstm');
}

/**
 * Whether the input projection and the readout run as the fused `affineRows` kernel (default)
 * or as the tfjs compositions `inputProjection` / `affineRows` below (`ORTHOQUANT_FUSED_ROWS=0`:
 * the reference, and the fallback should the fused kernel misbehave).
 */
export function fusedRows(): boolean {
  return setting('fusedRows');
}

/** h_{T−1} of H `[T, B, n]` as `[B, n]` (a row slice of the 2-D view: wasm's 3-D slice is slow). */
export function lastStep(H: tf.Tensor3D): tf.Tensor2D {
  const [T, B, n] = H.shape;
  return tf.slice(H.reshape([T, B * n]), [T - 1, 0], [1, B * n]).reshape([B, n]);
}

/**
 * Σ over the rows of `x` `[R·c, k]` as `[k]`: ones `[R, 1, c]` · x `[R, c, k]` then a sum of R
 * small rows (wasm's column Sum transposes all of x first: ~4× slower).
 */
export function sumRows(x: tf.Tensor2D, c: number): tf.Tensor1D {
  const [N, k] = x.shape;
  if (N % c !== 0 || N / c < 2) return tf.sum(x, 0);
  const R = N / c;
  return tf.sum(tf.matMul(tf.ones([R, 1, c]), x.reshape([R, c, k])), 0).reshape([k]);
}

/**
 * The input projection `x U + b` over N = T·B rows (x `[N, d]`, U `[d, n]`), one matmul
 * forward. Backward, shaped for wasm (see `affineRows`):
 * - d ≤ 16 (copy task, pixels): dU and db in one float64 pass over dZ on the host, skipping
 *   zero inputs (a one-hot row costs n additions): far cheaper than transposing dZ on wasm;
 * - otherwise (embeddings): dU = (dZᵀ x)ᵀ, db = `sumRows(dZ)`;
 * - dx = dZ Uᵀ only when x needs a gradient (embeddings), zeros otherwise.
 */
export function inputProjection(x: tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D, opts: { inputGrad: boolean; rowBlock: number; outShape?: number[] }): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, ui, bi] = args as tf.Tensor[];
    (args[3] as tf.GradSaveFunc)([xi, ui]);
    // The reshape to `outShape` happens inside the op: a taped reshape would keep a T·B·n copy.
    const z = tf.add(tf.matMul(xi as tf.Tensor2D, ui as tf.Tensor2D), bi);
    return {
      value: opts.outShape ? z.reshape(opts.outShape) : z,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, us] = saved as tf.Tensor2D[];
        const [N, d] = xs.shape;
        const n = us.shape[1];
        const g = dy.reshape([N, n]) as tf.Tensor2D;
        const dx = opts.inputGrad ? tf.matMul(g, tf.transpose(us)) : tf.zerosLike(xs);
        if (d > 16) return [dx, tf.transpose(tf.matMul(tf.transpose(g), xs)), sumRows(g, opts.rowBlock)];
        // Views, not copies (dZ is T·B·n floats, 4× that for the LSTM): no tfjs op runs below.
        // One pass over each row of dZ for db and the (few) non-zero inputs of that row; every
        // sum still runs over the rows in order.
        const xv = readInPlace(xs);
        const gv = readInPlace(g);
        const du = new Float64Array(d * n);
        const db = new Float64Array(n);
        const hot = new Int32Array(d);
        const val = new Float64Array(d);
        for (let r = 0; r < N; r++) {
          const row = r * n;
          let m = 0;
          for (let k = 0; k < d; k++) {
            const v = xv[r * d + k];
            if (v !== 0) {
              hot[m] = k * n;
              val[m++] = v;
            }
          }
          if (m === 0) {
            for (let i = 0; i < n; i++) db[i] += gv[row + i];
          } else if (m === 1) {
            const o = hot[0];
            const v = val[0];
            for (let i = 0; i < n; i++) {
              const gi = gv[row + i];
              db[i] += gi;
              du[o + i] += v * gi;
            }
          } else {
            for (let i = 0; i < n; i++) {
              const gi = gv[row + i];
              db[i] += gi;
              for (let q = 0; q < m; q++) du[hot[q] + i] += val[q] * gi;
            }
          }
        }
        return [dx, tf.tensor2d(Float32Array.from(du), [d, n]), tf.tensor1d(Float32Array.from(db))];
      },
    };
  });
  return op(x, U, b);
}

/**
 * The values of a float32 tensor for a host pass that runs no tfjs op while it reads: a view
 * of the wasm heap on the wasm backend (a copy of T·B·4n floats costs ~0.25 s CPU at the
 * papers' LSTM shapes), `dataSync()` elsewhere. The view is invalid once tfjs allocates again.
 */
export function readInPlace(t: tf.Tensor): Float32Array {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (info: tf.TensorInfo) => Float32Array };
  if (t.dtype === 'float32' && tf.getBackend() === 'wasm' && typeof backend.typedArrayFromHeap === 'function') return backend.typedArrayFromHeap(t);
  return t.dataSync() as Float32Array;
}

/**
 * `x W + c` over many rows (x `[N, k]`, W `[k, m]`, N = T·B large), with a gradient shaped
 * for wasm's matmul (XNNPACK packs its right operand on every call: a fresh `[N, k]` right
 * operand costs ~1 s at N = 128000, k = 128, while a `[N, m]` one with small m is cheap):
 * dW = xᵀ·dy (x transposed explicitly, dy on the right), dx = dy·Wᵀ, dc = Σ_rows dy.
 * The same holds for the input projection (`x` = inputs, `W` = U): dU = (dZᵀ·x)ᵀ.
 */
export function affineRows(x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D, rowBlock = 1, opts: { relu?: boolean; outShape?: number[] } = {}): tf.Tensor {
  const [k, m] = W.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, ci] = args as tf.Tensor[];
    // x of any rank (rows of k), ReLU applied first when asked: reshapes and ReLU inside the
    // op, so the tape saves one copy of the rows (tfjs's Reshape and Relu would each save x).
    const rows = xi.rank === 2 ? xi : xi.reshape([-1, k]);
    const a = (opts.relu ? tf.relu(rows) : rows) as tf.Tensor2D;
    (args[3] as tf.GradSaveFunc)([a, wi]);
    const y = tf.add(tf.matMul(a, wi as tf.Tensor2D), ci);
    return {
      value: opts.outShape ? y.reshape(opts.outShape) : y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [as, ws] = saved as tf.Tensor2D[];
        const g = (dy.rank === 2 ? dy : dy.reshape([-1, m])) as tf.Tensor2D;
        let da = tf.matMul(g, tf.transpose(ws));
        // ReLU'(x) = step(x) = step(relu(x)), as tfjs's Relu gradient computes it.
        if (opts.relu) da = tf.mul(da, tf.step(as));
        return [da.reshape(x.shape), tf.matMul(tf.transpose(as), g), sumRows(g, rowBlock)];
      },
    };
  });
  return op(x, W, c);
}

/**
 * Rows `E[ids]` of an embedding table, differentiable w.r.t. E. The backward pass is a
 * scatter-add on the host (tfjs's gather gradient needs UnsortedSegmentSum, which the wasm
 * backend lacks); it reads dL/drows once, O(T·B·dim), deterministic. Rows of `paddingIdx`
 * get no gradient (PyTorch's `padding_idx`).
 */
export function embeddingLookup(E: tf.Tensor2D, ids: tf.Tensor1D, paddingIdx: number | null = null): tf.Tensor2D {
  const [V, d] = E.shape;
  const idv = ids.dataSync() as Int32Array;
  for (let i = 0; i < idv.length; i++) {
    if (!(idv[i] >= 0 && idv[i] < V)) throw new Error(`embedding: token id ${idv[i]} at position ${i} is outside [0, ${V})`);
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const e = args[0] as tf.Tensor;
    return {
      value: tf.gather(e, ids),
      gradFunc: (dy: tf.Tensor) => {
        const g = new Float32Array(V * d);
        const dyv = readInPlace(dy);
        for (let n = 0; n < idv.length; n++) {
          if (idv[n] === paddingIdx) continue;
          const src = n * d;
          const dst = idv[n] * d;
          for (let k = 0; k < d; k++) g[dst + k] += dyv[src + k];
        }
        return tf.tensor2d(g, [V, d]);
      },
    };
  });
  return op(E) as tf.Tensor2D;
}

/** Dense W as a Float32Array and ‖WᵀW − I‖_max (orthogonal's `orthogonalityError`) and the fraction of zeros. */
export function matrixDiagnostics(w: Float32Array, n: number): { orthogonalityError: number; zeroFraction: number } {
  let zeros = 0;
  for (let i = 0; i < w.length; i++) if (w[i] === 0) zeros++;
  return { orthogonalityError: orthogonalityError(w, n), zeroFraction: zeros / w.length };
}

export function namedFromTensor(t: tf.Tensor): { shape: number[]; data: Float32Array } {
  return { shape: [...t.shape], data: t.dataSync().slice() as Float32Array };
}
