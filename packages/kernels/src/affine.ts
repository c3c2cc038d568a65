/**
 * Affine maps over many rows as one tfjs op with a hand-written gradient: `Y = f(X) W + c`,
 * X `[…, k]` (every leading dimension is a row: T·B rows), W `[k, m]`, c `[m]`,
 * f ∈ identity | ReLU. It is the input projection `x U + b` and the readout
 * `ReLU(h) V + c` around the scans.
 *
 * - `OrthoquantAffineRows`      inputs [x, W, c] → Y `[…, m]` (x's leading shape kept: no reshape)
 * - `OrthoquantAffineRowsGrad`  inputs [dy, x, W] → [dW, dc] or [dx, dW, dc]
 *
 * The gradient is one pass over the rows: dW = f(X)ᵀ dY, dc = Σ_rows dY and, when x needs it,
 * dX = (dY Wᵀ) ⊙ f'(X) — no transposes, no copy of X (f(X) is recomputed per row; X itself is
 * what the tape saves: the scan's H, already saved by the scan), zero inputs skipped (one-hot
 * rows, ReLU zeros). I/O in place on wasm and cpu, as the scans (see fused-op.ts).
 */
import { tf } from '@orthoquant/runtime';
import { checkFloat, defineFusedOp } from './fused-op.js';
import type { FusedAttrs, TensorIo } from './fused-op.js';
import { selectImplementation } from './implementation.js';
import type { KernelImplementation, OpImplementations } from './implementation.js';

export interface AffineSpec {
  /** Rows. */
  N: number;
  /** Width of a row of x (rows of W). */
  k: number;
  /** Outputs (columns of W). */
  m: number;
  relu: boolean;
}

export interface AffineGradients {
  /** dL/dX `[N, k]`, or null when not wanted. */
  dx: Float32Array | null;
  dw: Float32Array;
  dc: Float32Array;
}

export interface AffineImplementation {
  name: 'native' | 'js';
  forward(spec: AffineSpec, x: Float32Array, w: Float32Array, c: Float32Array, y: Float32Array, threads: number): void;
  backward(spec: AffineSpec, x: Float32Array, w: Float32Array, dy: Float32Array, g: AffineGradients, threads: number): void;
  /**
   * Σ_rows softmax cross-entropy of the logits f(x) W + c against `targets` (one class per row);
   * with `g`, also the gradient of `scale`·Σ loss w.r.t. x (when g.dx), W and c.
   */
  crossEntropy(spec: AffineSpec, x: Float32Array, w: Float32Array, c: Float32Array, targets: Int32Array, scale: number, g: AffineGradients | null, threads: number): number;
}

/** Σ loss of the logit rows Y against targets; with G, G = (softmax(Y) − onehot)·scale. */
function crossEntropyRows(Y: Float32Array, targets: Int32Array, m: number, G: Float32Array | null, scale: number): number {
  let loss = 0;
  for (let r = 0; r < targets.length; r++) {
    const o = r * m;
    const t = targets[r];
    if (!(t >= 0 && t < m)) throw new Error(`readoutCrossEntropy: target ${t} at row ${r} is outside [0, ${m})`);
    let mx = Y[o];
    for (let j = 1; j < m; j++) mx = Math.max(mx, Y[o + j]);
    let s = 0;
    for (let j = 0; j < m; j++) s += Math.exp(Y[o + j] - mx);
    loss += Math.log(s) + mx - Y[o + t];
    if (G) {
      for (let j = 0; j < m; j++) G[o + j] = (Math.exp(Y[o + j] - mx) / s) * scale;
      G[o + t] -= scale;
    }
  }
  return loss;
}

/** The JS implementation: the same loops as native/affine.cc, sums of weights in float64. */
export const jsAffine: AffineImplementation = {
  name: 'js',
  forward({ N, k, m, relu }, x, w, c, y) {
    for (let r = 0; r < N; r++) {
      const xo = r * k;
      const yo = r * m;
      for (let j = 0; j < m; j++) y[yo + j] = c[j];
      for (let i = 0; i < k; i++) {
        const a = x[xo + i];
        if (a === 0 || (relu && a < 0)) continue;
        const wo = i * m;
        for (let j = 0; j < m; j++) y[yo + j] += a * w[wo + j];
      }
    }
  },
  backward({ N, k, m, relu }, x, w, dy, g) {
    const dw = new Float64Array(k * m);
    const dc = new Float64Array(m);
    const dx = g.dx;
    for (let r = 0; r < N; r++) {
      const xo = r * k;
      const go = r * m;
      for (let j = 0; j < m; j++) dc[j] += dy[go + j];
      for (let i = 0; i < k; i++) {
        const a = x[xo + i];
        const active = relu ? a > 0 : true;
        if (dx) {
          let s = 0;
          if (active) for (let j = 0; j < m; j++) s += dy[go + j] * w[i * m + j];
          dx[xo + i] = s;
        }
        if (a === 0 || !active) continue;
        const wo = i * m;
        for (let j = 0; j < m; j++) dw[wo + j] += a * dy[go + j];
      }
    }
    g.dw.set(dw);
    g.dc.set(dc);
  },
  crossEntropy(spec, x, w, c, targets, scale, g, threads) {
    const Y = new Float32Array(spec.N * spec.m);
    this.forward(spec, x, w, c, Y, threads);
    if (!g) return crossEntropyRows(Y, targets, spec.m, null, 0);
    const loss = crossEntropyRows(Y, targets, spec.m, Y, scale); // G overwrites Y row by row
    this.backward(spec, x, w, Y, g, threads);
    return loss;
  },
};

export const AFFINE_KERNEL = 'OrthoquantAffineRows';
export const AFFINE_GRAD_KERNEL = 'OrthoquantAffineRowsGrad';

/** The affine rows' implementations (also the readout's cross-entropy). */
export const AFFINE_IMPLEMENTATIONS: OpImplementations<AffineImplementation> = { what: 'affine rows', js: jsAffine, native: (nat) => nat.affine };

export interface AffineAttrs extends FusedAttrs {
  relu: boolean;
  /** Whether the gradient kernel also returns dx. */
  inputGrad: boolean;
}

function specOf(x: tf.TensorInfo, w: tf.TensorInfo, a: AffineAttrs): AffineSpec {
  const [k, m] = w.shape;
  const size = x.shape.reduce((p, q) => p * q, 1);
  return { N: size / k, k, m, relu: a.relu };
}

/** The gradient outputs [dx?, dW, dc] of x [N, k] (dx when `inputGrad`) as views to write. */
function gradientOutputs(io: TensorIo<unknown>, x: tf.TensorInfo, spec: AffineSpec, a: AffineAttrs): { outs: unknown[]; g: AffineGradients } {
  const outs = [...(a.inputGrad ? [io.alloc([...x.shape])] : []), io.alloc([spec.k, spec.m]), io.alloc([spec.m])];
  const views = outs.map((o) => io.view(o));
  const g: AffineGradients = a.inputGrad ? { dx: views[0], dw: views[1], dc: views[2] } : { dx: null, dw: views[0], dc: views[1] };
  return { outs, g };
}

const affineOp = defineFusedOp<AffineAttrs, AffineImplementation>({
  kernelName: AFFINE_KERNEL,
  gradKernelName: AFFINE_GRAD_KERNEL,
  implementations: AFFINE_IMPLEMENTATIONS,
  forward: ({ inputs: [x, w, c], attrs: a, impl, io }) => {
    for (const [name, t] of Object.entries({ x, w, c })) checkFloat(t, `${AFFINE_KERNEL}: ${name}`);
    const spec = specOf(x, w, a);
    const out = io.alloc([...x.shape.slice(0, -1), spec.m]);
    impl.forward(spec, io.read(x), io.read(w), io.read(c), io.view(out), a.threads);
    return io.finish(out);
  },
  backward: ({ inputs: [dy, x, w], attrs: a, impl, io }) => {
    for (const [name, t] of Object.entries({ dy, x, w })) checkFloat(t, `${AFFINE_GRAD_KERNEL}: ${name}`);
    const spec = specOf(x, w, a);
    const { outs, g } = gradientOutputs(io, x, spec, a);
    impl.backward(spec, io.read(x), io.read(w), io.read(dy), g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    inputsToSave: ['x', 'w'],
    inputs: (dy, [x, w]) => ({ dy, x, w }),
    grads: (outs, [x, w], a, dy) => {
      const [dw, dc] = a.inputGrad ? outs.slice(1) : outs;
      return {
        // Asked for only when x is on the path to a variable; then `inputGrad` should be set.
        x: () => (a.inputGrad ? outs[0] : referenceInputGrad(dy, x, w, a.relu)),
        w: () => dw,
        c: () => dc,
      };
    },
  },
});

/** dX = (dY Wᵀ) ⊙ f'(X) with tfjs ops (when the op was built without `inputGrad`). */
function referenceInputGrad(dy: tf.Tensor, x: tf.Tensor, w: tf.Tensor, relu: boolean): tf.Tensor {
  const [k, m] = w.shape;
  const dx = tf.matMul(dy.reshape([-1, m]) as tf.Tensor2D, w as tf.Tensor2D, false, true).reshape(x.shape);
  return relu ? tf.mul(dx, tf.step(x)) : dx.reshape([...x.shape.slice(0, -1), k]);
}

export function runAffineKernel(x: tf.Tensor, w: tf.Tensor, c: tf.Tensor, attrs: AffineAttrs): tf.Tensor {
  return affineOp.run({ x, w, c }, attrs) as tf.Tensor;
}

// ---------------------------------------------------------------------------------------------
// The op and the typed-array layer.

export interface AffineRowsOptions {
  /** f = ReLU (the readout's `ReLU(h) V + c`); default identity. */
  relu?: boolean;
  /**
   * Compute dL/dx in the gradient kernel (x depends on variables: embeddings, stacked
   * models). Without it dL/dx is still available, through tfjs ops, if x is on a gradient path.
   */
  inputGrad?: boolean;
}

/** The shapes of x `[…, k]`, W `[k, m]` and c `[m]` agree; returns [k, m]. */
function checkRows(where: string, x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D): [number, number] {
  if (!(x instanceof tf.Tensor) || x.rank < 1) throw new Error(`${where}: x must be a tensor of rank ≥ 1`);
  if (W.rank !== 2) throw new Error(`${where}: W must be [k, m], got [${W.shape.join(', ')}]`);
  const [k, m] = W.shape;
  if (x.shape[x.rank - 1] !== k) throw new Error(`${where}: x [${x.shape.join(', ')}] has rows of ${x.shape[x.rank - 1]}, W [${k}, ${m}] expects ${k}`);
  if (c.rank !== 1 || c.shape[0] !== m) throw new Error(`${where}: c must be [${m}], got [${c.shape.join(', ')}]`);
  return [k, m];
}

function checkFloat32(where: string, x: tf.Tensor, W: tf.Tensor, c: tf.Tensor): void {
  for (const [name, t] of [['x', x], ['W', W], ['c', c]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${where}: ${name} must be float32, got ${t.dtype}`);
  }
}

/**
 * `f(x) W + c` over every row of x `[…, k]` as one op: `[…, m]`, differentiable w.r.t. x, W
 * and c (see the file comment). Same implementation choice as the scans (native / JS).
 */
export function affineRows(x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D, opts: AffineRowsOptions = {}): tf.Tensor {
  const where = 'affineRows';
  const [k] = checkRows(where, x, W, c);
  checkFloat32(where, x, W, c);
  const { name: implementation, threads } = selectImplementation(AFFINE_IMPLEMENTATIONS);
  return runAffineKernel(x, W, c, { relu: Boolean(opts.relu), inputGrad: Boolean(opts.inputGrad), threads, implementation });
}

/** `f(x) W + c` on Float32Arrays (x `[N·k]`, W `[k·m]`, c `[m]`) → `[N·m]`. */
export function affineForward(spec: AffineSpec, x: Float32Array, W: Float32Array, c: Float32Array, opts: { implementation?: KernelImplementation } = {}): Float32Array {
  checkAffine(spec, x, W, 'affineForward');
  if (c.length !== spec.m) throw new Error(`affineForward: c has ${c.length} values, expected ${spec.m}`);
  const y = new Float32Array(spec.N * spec.m);
  const { impl, threads } = selectImplementation(AFFINE_IMPLEMENTATIONS, opts.implementation);
  impl.forward(spec, x, W, c, y, threads);
  return y;
}

/** The gradient of `f(x) W + c` from dL/dy: dW, dc and (when `inputGrad`) dx. */
export function affineBackward(
  spec: AffineSpec,
  x: Float32Array,
  W: Float32Array,
  dy: Float32Array,
  opts: { inputGrad?: boolean; implementation?: KernelImplementation } = {},
): AffineGradients {
  checkAffine(spec, x, W, 'affineBackward');
  if (dy.length !== spec.N * spec.m) throw new Error(`affineBackward: dy has ${dy.length} values, expected ${spec.N * spec.m}`);
  const g: AffineGradients = { dx: opts.inputGrad ? new Float32Array(spec.N * spec.k) : null, dw: new Float32Array(spec.k * spec.m), dc: new Float32Array(spec.m) };
  const { impl, threads } = selectImplementation(AFFINE_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, x, W, dy, g, threads);
  return g;
}

function checkAffine(spec: AffineSpec, x: Float32Array, W: Float32Array, where: string): void {
  const { N, k, m } = spec;
  if (![N, k, m].every((v) => Number.isInteger(v) && v >= 0) || k < 1 || m < 1) throw new Error(`${where}: N, k, m must be integers (k, m ≥ 1), got ${N}, ${k}, ${m}`);
  if (x.length !== N * k) throw new Error(`${where}: x has ${x.length} values, expected ${N * k}`);
  if (W.length !== k * m) throw new Error(`${where}: W has ${W.length} values, expected ${k * m}`);
}

// ---------------------------------------------------------------------------------------------
// Readout + mean softmax cross-entropy as one op.
//
// - `OrthoquantReadoutCrossEntropy`      inputs [x, w, c, targets] → mean loss (scalar)
// - `OrthoquantReadoutCrossEntropyGrad`  inputs [dy, x, w, c, targets] → [dx?, dW, dc]
// Neither the logits nor the softmax are kept: the gradient recomputes them from x (N·m floats,
// small) and runs the affine gradient on (softmax − onehot)·dy/N.

export const READOUT_CE_KERNEL = 'OrthoquantReadoutCrossEntropy';
export const READOUT_CE_GRAD_KERNEL = 'OrthoquantReadoutCrossEntropyGrad';

const readoutCeOp = defineFusedOp<AffineAttrs, AffineImplementation>({
  kernelName: READOUT_CE_KERNEL,
  gradKernelName: READOUT_CE_GRAD_KERNEL,
  implementations: AFFINE_IMPLEMENTATIONS,
  forward: ({ inputs: [x, w, c, targets], attrs: a, impl, io, readInt32 }) => {
    for (const [name, t] of Object.entries({ x, w, c })) checkFloat(t, `${READOUT_CE_KERNEL}: ${name}`);
    const spec = specOf(x, w, a);
    const out = io.alloc([]);
    const loss = impl.crossEntropy(spec, io.read(x), io.read(w), io.read(c), readInt32(targets, READOUT_CE_KERNEL), 0, null, a.threads);
    io.view(out)[0] = spec.N > 0 ? loss / spec.N : 0;
    return io.finish(out);
  },
  backward: ({ inputs: [dy, x, w, c, targets], attrs: a, impl, io, readInt32 }) => {
    for (const [name, t] of Object.entries({ dy, x, w, c })) checkFloat(t, `${READOUT_CE_GRAD_KERNEL}: ${name}`);
    const spec = specOf(x, w, a);
    const { outs, g } = gradientOutputs(io, x, spec, a);
    const scale = spec.N > 0 ? io.read(dy)[0] / spec.N : 0;
    impl.crossEntropy(spec, io.read(x), io.read(w), io.read(c), readInt32(targets, READOUT_CE_GRAD_KERNEL), scale, g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    inputsToSave: ['x', 'w', 'c', 'targets'],
    inputs: (dy, [x, w, c, targets]) => ({ dy, x, w, c, targets }),
    grads: (outs, [, , , targets], a) => {
      const [dx, dw, dc] = a.inputGrad ? outs : [undefined, ...outs];
      return {
        x: () => {
          if (!dx) throw new Error('readoutCrossEntropy: a gradient w.r.t. x needs { inputGrad: true }');
          return dx;
        },
        w: () => dw!,
        c: () => dc!,
        targets: () => tf.zerosLike(targets),
      };
    },
  },
});

/**
 * Mean softmax cross-entropy of the readout logits `f(x) W + c` (rows of x `[…, k]`) against
 * `targets` (int32, x's leading shape, one class in [0, m) per row), as one op; differentiable
 * w.r.t. x (with `inputGrad`, the default), W and c. Equals
 * `mean(logsumexp(y) − y[target])` of `affineRows(x, W, c, opts)` without materialising the
 * logits' softmax on the tape.
 */
export function readoutCrossEntropy(x: tf.Tensor, W: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor, opts: AffineRowsOptions = {}): tf.Scalar {
  const where = 'readoutCrossEntropy';
  const [k] = checkRows(where, x, W, c);
  const lead = x.shape.slice(0, -1);
  if (targets.dtype !== 'int32' || targets.size !== x.size / k) {
    throw new Error(`${where}: targets must be int32 of shape [${lead.join(', ')}], got ${targets.dtype} [${targets.shape.join(', ')}]`);
  }
  checkFloat32(where, x, W, c);
  const { name: implementation, threads } = selectImplementation(AFFINE_IMPLEMENTATIONS);
  const attrs: AffineAttrs = { relu: Boolean(opts.relu), inputGrad: opts.inputGrad ?? true, threads, implementation };
  return readoutCeOp.run({ x, w: W, c, targets }, attrs) as tf.Scalar;
}
