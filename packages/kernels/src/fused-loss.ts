/**
 * What every fused training loss shares — the HadamRNN / dense fused step (fused-step.ts) and the
 * LSTM loss (lstm-loss.ts), each the whole loss of a recurrent model as one op — on the JS side
 * (native/readout-loss.h is the native side):
 *
 * - the sizes and buffers of the inputs, the readout and the targets, and their checks;
 * - the input projection z = x W + b (float rows, or row indices into W: one-hot inputs as their
 *   hot index, a gather) and its gradient, row by row;
 * - the readout y = f(h) V + c (f = identity | ReLU) with the softmax cross-entropy of one row and
 *   its gradient: L = mean over the read-out rows of logsumexp(y) − y[target];
 * - the tfjs side: the checks of x, the parameters and the targets, and a kernel's inputs read as
 *   typed arrays.
 */
import { tf } from '@orthoquant/runtime';
import { checkArray, checkIndices, checkPositiveIntegers } from './checks.js';
import { checkFloat } from './fused-op.js';
import type { FusedAttrs, KernelCall } from './fused-op.js';

/** The sizes every fused loss has. */
export interface LossShape {
  T: number;
  B: number;
  /** Hidden size. */
  n: number;
  /** Input width (rows of the input weight). */
  k: number;
  /** Classes of the readout. */
  classes: number;
  /** f = ReLU (else identity) before the readout. */
  relu: boolean;
  /** Readout and loss on the last step only (targets [B]); else on every step (targets [T·B]). */
  lastOnly: boolean;
  /** x holds row indices into the input weight ([T·B] Int32Array, each in [0, k)); else float rows [T·B·k]. */
  indexInputs: boolean;
}

/** The buffers every fused loss reads besides its own weights. */
export interface LossInputs {
  x: Float32Array | Int32Array; // [T·B·k] floats, or [T·B] row indices (indexInputs)
  h0: Float32Array | null; // [B·n]
  V: Float32Array; // [n·classes]
  c: Float32Array; // [classes]
  targets: Int32Array; // [T·B], or [B] (lastOnly)
}

/** What the readout and loss read: the shapes, the readout's parameters and the targets. */
export type ReadoutSpec = Pick<LossShape, 'T' | 'B' | 'n' | 'classes' | 'relu' | 'lastOnly'>;
export type ReadoutInputs = Pick<LossInputs, 'V' | 'c' | 'targets'>;

/** `v` must be an integer ≥ 0 (a checkpoint or anchor spacing; 0: none). */
export function checkNonNegativeInteger(where: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0) throw new Error(`${where}: ${name} must be a non-negative integer, got ${v}`);
}

/** T, B, n, k and classes must be positive integers. */
export function checkLossSizes(spec: LossShape, where: string): void {
  checkPositiveIntegers(where, [['T', spec.T], ['B', spec.B], ['n', spec.n], ['k', spec.k], ['classes', spec.classes]]);
}

/**
 * The buffers of a fused loss: x (indices in [0, k) or float rows), the op's own `weights` as
 * [name, buffer or null (absent), length] in order, then V, c and the targets (each in [0, classes)).
 */
export function checkLossBuffers(spec: LossShape, inp: LossInputs, weights: readonly (readonly [string, Float32Array | null, number])[], where: string): void {
  const { T, B, n, k, classes } = spec;
  if (spec.indexInputs) {
    checkArray(where, 'x', inp.x, T * B, 'i32');
    checkIndices(where, 'input index', inp.x as Int32Array, k);
  } else {
    checkArray(where, 'x', inp.x, T * B * k);
  }
  for (const [name, a, len] of weights) if (a) checkArray(where, name, a, len);
  checkArray(where, 'V', inp.V, n * classes);
  checkArray(where, 'c', inp.c, classes);
  checkArray(where, 'targets', inp.targets, spec.lastOnly ? B : T * B, 'i32');
  checkIndices(where, 'target', inp.targets, classes);
}

// ---------------------------------------------------------------------------------------------
// JS: the input projection and the readout, row by row (the same loops as the native ops).

/** z = bias + x_row W for input row `row` (W [k, w] row-major, w = bias.length; a row of W for an index input). */
export function projectRow(spec: Pick<LossShape, 'k' | 'indexInputs'>, x: Float32Array | Int32Array, W: Float32Array, bias: Float32Array, row: number, z: Float32Array): void {
  const w = bias.length;
  z.set(bias);
  if (spec.indexInputs) {
    const o = x[row] * w;
    for (let i = 0; i < w; i++) z[i] += W[o + i];
    return;
  }
  for (let j = 0; j < spec.k; j++) {
    const v = x[row * spec.k + j];
    if (v === 0) continue;
    const o = j * w;
    for (let i = 0; i < w; i++) z[i] += v * W[o + i];
  }
}

/** dW += x_rowᵀ d and dbias += d, from d = dL/dz of input row `row` (w = dbias.length). */
export function projectBackwardRow(spec: Pick<LossShape, 'k' | 'indexInputs'>, x: Float32Array | Int32Array, row: number, d: Float32Array, dW: Float64Array, dbias: Float64Array): void {
  const w = dbias.length;
  if (spec.indexInputs) {
    const o = x[row] * w;
    for (let i = 0; i < w; i++) dW[o + i] += d[i];
  } else {
    for (let j = 0; j < spec.k; j++) {
      const v = x[row * spec.k + j];
      if (v !== 0) for (let i = 0; i < w; i++) dW[j * w + i] += v * d[i];
    }
  }
  for (let i = 0; i < w; i++) dbias[i] += d[i];
}

/** Cross-entropy of one row from h; with g, also g = (softmax − onehot)·scale. a receives f(h). */
export function readoutRow(spec: ReadoutSpec, inp: ReadoutInputs, h: Float32Array, ho: number, a: Float32Array, y: Float64Array, target: number, g: Float64Array | null, scale: number): number {
  const { n, classes } = spec;
  for (let i = 0; i < n; i++) a[i] = spec.relu && h[ho + i] < 0 ? 0 : h[ho + i];
  let mx = -Infinity;
  for (let q = 0; q < classes; q++) {
    let acc = 0;
    for (let i = 0; i < n; i++) acc += a[i] * inp.V[i * classes + q];
    y[q] = inp.c[q] + acc;
    mx = Math.max(mx, y[q]);
  }
  let sum = 0;
  for (let q = 0; q < classes; q++) sum += Math.exp(y[q] - mx);
  if (g) {
    for (let q = 0; q < classes; q++) g[q] = (Math.exp(y[q] - mx) / sum) * scale;
    g[target] -= scale;
  }
  return Math.log(sum) + mx - y[target];
}

/** The loss of the rows the readout reads at step t (row b: h at h[ho…]), or 0 where it reads none. */
export function readoutLossAt(spec: ReadoutSpec, inp: ReadoutInputs, h: Float32Array, ho: number, a: Float32Array, y: Float64Array, t: number, b: number): number {
  if (spec.lastOnly && t !== spec.T - 1) return 0;
  return readoutRow(spec, inp, h, ho, a, y, inp.targets[spec.lastOnly ? b : t * spec.B + b], null, 0);
}

/** The readout's gradient sums (Float64, as the native ones) and per-row scratch: f(h), δ, the logits and ∂ℓ/∂y. */
export interface ReadoutBuffers {
  a: Float32Array;
  d: Float32Array;
  y: Float64Array;
  gq: Float64Array;
  dV: Float64Array;
  dc: Float64Array;
}

export function readoutBuffers(spec: Pick<LossShape, 'n' | 'classes'>): ReadoutBuffers {
  const { n, classes } = spec;
  return { a: new Float32Array(n), d: new Float32Array(n), y: new Float64Array(classes), gq: new Float64Array(classes), dV: new Float64Array(n * classes), dc: new Float64Array(classes) };
}

/** buf.d = dL/dh_t for row (t, b): the carry from step t + 1 plus, where the readout reads step t,
 *  Vᵀ ∂ℓ/∂y through the readout's ReLU; adds to dV and dc. h_t is at h[ho…], the carry at carry[o…]. */
export function readoutBackwardRow(spec: ReadoutSpec, inp: ReadoutInputs, buf: ReadoutBuffers, h: Float32Array, ho: number, carry: Float32Array, o: number, t: number, b: number, scale: number): void {
  const { T, B, n, classes } = spec;
  const { a, d, y, gq, dV, dc } = buf;
  if (!spec.lastOnly || t === T - 1) {
    readoutRow(spec, inp, h, ho, a, y, inp.targets[spec.lastOnly ? b : t * B + b], gq, scale);
    for (let i = 0; i < n; i++) {
      let acc = carry[o + i];
      const on = !spec.relu || h[ho + i] > 0;
      for (let q = 0; q < classes; q++) {
        dV[i * classes + q] += a[i] * gq[q];
        if (on) acc += gq[q] * inp.V[i * classes + q];
      }
      d[i] = acc;
    }
    for (let q = 0; q < classes; q++) dc[q] += gq[q];
  } else {
    d.set(carry.subarray(o, o + n));
  }
}

// ---------------------------------------------------------------------------------------------
// tfjs: the op's arguments and its kernels' inputs.

/** The sizes x and the targets give: x float32 [T, B, k] or int32 [T, B], row indices into `input` [k, …] (named `inputName`). */
export function lossTensorSizes(where: string, x: tf.Tensor, inputName: string, input: tf.Tensor, targets: tf.Tensor): Pick<LossShape, 'T' | 'B' | 'k' | 'indexInputs' | 'lastOnly'> {
  if (!(x instanceof tf.Tensor) || (x.rank !== 3 && x.rank !== 2)) {
    throw new Error(`${where}: x must be float32 [T, B, k] or int32 row indices [T, B], got ${x instanceof tf.Tensor ? `[${x.shape.join(', ')}]` : typeof x}`);
  }
  const indexInputs = x.rank === 2;
  if (indexInputs ? x.dtype !== 'int32' : x.dtype !== 'float32') throw new Error(`${where}: x [${x.shape.join(', ')}] must be ${indexInputs ? `int32 (row indices into ${inputName})` : 'float32'}, got ${x.dtype}`);
  const [T, B] = x.shape as [number, number];
  return { T, B, k: indexInputs ? input.shape[0]! : x.shape[2]!, indexInputs, lastOnly: targets.rank === 1 };
}

/** Each present tensor has its shape ([name, tensor or null, shape]); the `floats` are float32; the targets int32. */
export function checkLossTensors(where: string, shapes: readonly (readonly [string, tf.Tensor | null, number[]])[], floats: readonly (readonly [string, tf.Tensor | null])[], targets: tf.Tensor): void {
  for (const [name, t, shape] of shapes) {
    if (t && (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i]))) throw new Error(`${where}: ${name} must be [${shape.join(', ')}], got [${t.shape.join(', ')}]`);
  }
  for (const [name, t] of floats) {
    if (t && t.dtype !== 'float32') throw new Error(`${where}: ${name} must be float32, got ${t.dtype}`);
  }
  if (targets.dtype !== 'int32') throw new Error(`${where}: targets must be int32, got ${targets.dtype}`);
}

type Info = tf.TensorInfo;

/** The attributes every fused loss op carries (besides the implementation and threads). */
export interface LossAttrs extends FusedAttrs {
  relu: boolean;
  lastOnly: boolean;
  indexInputs: boolean;
  hasH0: boolean;
}

/** The sizes from a kernel's x [T, B, …], input weight [k, gates·n] and readout V [n, classes]. */
export function lossShapeOf(a: LossAttrs, x: Info, input: Info, V: Info, gates = 1): LossShape {
  const [T, B] = x.shape as [number, number];
  const [k, w] = input.shape as [number, number];
  return { T, B, n: w / gates, k, classes: V.shape[1]!, relu: a.relu, lastOnly: a.lastOnly, indexInputs: a.indexInputs };
}

/**
 * A fused loss kernel's inputs as typed arrays: x (row indices, or float rows), the `floats` and
 * the present `optional` ones (each checked float32 first, its message naming the kernel and the
 * input), and the int32 targets.
 */
export function readLossInputs<K extends string, O extends string>(
  kernel: string, call: Pick<KernelCall<unknown, unknown>, 'io' | 'readInt32'>, indexInputs: boolean,
  t: { x: Info; floats: Record<K, Info>; optional: Record<O, Info | null>; targets: Info },
): { x: Float32Array | Int32Array; targets: Int32Array } & Record<K, Float32Array> & Record<O, Float32Array | null> {
  const { io, readInt32 } = call;
  const present = Object.entries<Info | null>({ ...(indexInputs ? {} : { x: t.x }), ...t.floats, ...t.optional }).filter((e): e is [string, Info] => e[1] !== null);
  for (const [name, info] of present) checkFloat(info, `${kernel}: ${name}`);
  const read = <N extends string>(m: Record<N, Info | null>) => Object.fromEntries(Object.entries<Info | null>(m).map(([name, info]) => [name, info ? io.read(info) : null]));
  return {
    ...(read(t.floats) as Record<K, Float32Array>),
    ...(read(t.optional) as Record<O, Float32Array | null>),
    x: indexInputs ? readInt32(t.x, `${kernel}: input indices`) : io.read(t.x),
    targets: readInt32(t.targets, `${kernel}: targets`),
  };
}
