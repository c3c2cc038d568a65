/**
 * The whole HadamRNN training loss as one op — input projection, the linear Hadamard
 * recurrence with s = ±1, the readout and the mean softmax cross-entropy over all T·B steps
 * (many-to-many) or over the B rows of the last step (many-to-one) — with every parameter
 * gradient by reversible BPTT (native/fused-step.cc; this file holds the JS implementation, held
 * to the same tests, and the tfjs op):
 *
 *   z_t = x_t U + b,   h_t = s ⊙ (h_{t−1}·(I ⊗ H_m))/√m + z_t,   y_t = f(h_t) V + c
 *   L = mean over (t, b) of logsumexp(y_tb) − y_tb[target_tb]          (f = identity | ReLU)
 *   L = mean over b of logsumexp(y_{T−1,b}) − y_{T−1,b}[target_b]      (last step)
 *
 * Inputs are float rows x [T, B, k] or row indices i [T, B] into U (one-hot inputs given as
 * their hot index: z_t = U[i_t] + b, a gather; no T·B·k one-hot tensor exists).
 *
 * The forward keeps the last state [B, n] and one state every `anchorEvery` steps; nothing of
 * size T·B·n exists in either pass (the backward rebuilds z_t from x_t, h_{t−1} from h_t and the
 * logits from h_t). The op keeps x, the parameters and the targets for the gradient. The
 * quantizers of U and V and the parameterization of s stay in tfjs autodiff around it.
 */
import { tf } from '@orthoquant/runtime';
import { checkHadamardOrder, recurrentTransform } from './hadamard-transform.js';
import { selectImplementation } from './implementation.js';
import type { KernelImplementation, OpImplementations } from './implementation.js';
import { isSignVector } from './scan-reversible.js';
import { defineFusedOp } from './fused-op.js';
import type { KernelCall } from './fused-op.js';
import {
  checkLossBuffers, checkLossSizes, checkLossTensors, checkNonNegativeInteger, lossShapeOf, lossTensorSizes, projectBackwardRow, projectRow, readLossInputs, readoutBackwardRow, readoutBuffers,
  readoutLossAt,
} from './fused-loss.js';
import type { LossAttrs, LossInputs, LossShape, ReadoutBuffers } from './fused-loss.js';

/** The sizes (see LossShape: x rows index U) and the recurrence. */
export interface FusedStepSpec extends LossShape {
  /** Hadamard block size m (2^k, or p·2^k with `p` and `hp`, dividing n). */
  blockSize: number;
  /** Orders p·2^k: the order p of H_p (default 1) and H_p row-major ±1 [p·p]; h_t = s ⊙ (I ⊗ H_m) h_{t−1}/√m + z_t. */
  p?: number;
  hp?: Int8Array;
  /** Keep h_{k−1}, h_{2k−1}, … and restart the rebuild there (0: none). */
  anchorEvery: number;
  /**
   * The recurrence: 'hadamard' (s ⊙ (h·(I ⊗ H_m))/√m, s = ±1, linear, reversible BPTT with
   * anchors) or 'dense' (σ(W h + z), W [n, n] row-major, checkpointed BPTT: the anchors are the
   * checkpoints, each segment of `anchorEvery` steps is recomputed from the one before it).
   */
  kind: 'hadamard' | 'dense';
  /** σ of the dense recurrence (hadamard: linear only). */
  activation: 'linear' | 'relu' | 'tanh';
}

/** x, h0, the readout and the targets (see LossInputs), and the recurrence's weights. */
export interface FusedStepInputs extends LossInputs {
  U: Float32Array; // [k·n]
  b: Float32Array; // [n]
  s: Float32Array; // hadamard: s [n], ±1; dense: W [n·n] row-major
}

export interface FusedStepGradients {
  dU: Float32Array;
  db: Float32Array;
  ds: Float32Array;
  dh0: Float32Array | null;
  dV: Float32Array;
  dc: Float32Array;
}

export interface FusedStepImplementation {
  readonly name: 'native' | 'js';
  /** The mean loss; writes hLast [B·n] and the anchors [⌊T/k⌋·B·n]. */
  forward(spec: FusedStepSpec, inp: FusedStepInputs, hLast: Float32Array, anchors: Float32Array | null, threads: number): number;
  /** Gradients of dy·L. */
  backward(spec: FusedStepSpec, inp: FusedStepInputs, hLast: Float32Array, anchors: Float32Array | null, dy: number, g: FusedStepGradients, threads: number): void;
}

export function anchorLength(spec: FusedStepSpec): number {
  return spec.anchorEvery > 0 ? Math.floor(spec.T / spec.anchorEvery) * spec.B * spec.n : 0;
}

/** Check a spec and its buffers; messages name the offending quantity. */
export function checkFusedStep(spec: FusedStepSpec, inp: FusedStepInputs, where: string): void {
  const { B, n, k, blockSize: m } = spec;
  checkLossSizes(spec, where);
  if (spec.kind !== 'hadamard' && spec.kind !== 'dense') throw new Error(`${where}: kind must be hadamard|dense, got '${String(spec.kind)}'`);
  if (!['linear', 'relu', 'tanh'].includes(spec.activation)) throw new Error(`${where}: activation must be linear|relu|tanh, got '${String(spec.activation)}'`);
  if (spec.kind === 'hadamard' && spec.activation !== 'linear') throw new Error(`${where}: the hadamard fused step is linear (reversible BPTT), got activation '${spec.activation}'`);
  if (spec.kind === 'hadamard') checkHadamardOrder({ n, blockSize: m, p: spec.p, hp: spec.hp }, where);
  checkNonNegativeInteger(where, 'anchorEvery', spec.anchorEvery);
  const recurrent = spec.kind === 'dense' ? (['W', inp.s, n * n] as const) : (['s', inp.s, n] as const);
  checkLossBuffers(spec, inp, [['U', inp.U, k * n], ['b', inp.b, n], recurrent, ['h0', inp.h0, B * n]], where);
  if (spec.kind === 'hadamard' && !isSignVector(inp.s)) throw new Error(`${where}: every s must be exactly ±1 (reversible BPTT needs an exactly orthogonal recurrence)`);
}

// ---------------------------------------------------------------------------------------------
// JS implementation (the same loops as native/fused-step.cc, one thread).

function forwardJs(spec: FusedStepSpec, inp: FusedStepInputs, hLast: Float32Array, anchors: Float32Array | null): number {
  const { T, B, n, blockSize: m, classes, anchorEvery } = spec;
  const scale = 1 / Math.sqrt(m);
  const h = new Float32Array(B * n);
  if (inp.h0) h.set(inp.h0);
  const z = new Float32Array(n);
  const buf = new Float32Array(n);
  const a = new Float32Array(n);
  const y = new Float64Array(classes);
  const rec = recurrentTransform(spec, false);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      const o = b * n;
      projectRow(spec, inp.x, inp.U, inp.b, row, z);
      if (t > 0 || inp.h0) {
        buf.set(h.subarray(o, o + n));
        rec(buf, 0);
        for (let i = 0; i < n; i++) h[o + i] = inp.s[i] * buf[i] * scale + z[i];
      } else {
        h.set(z, o);
      }
      if (anchors && anchorEvery > 0 && (t + 1) % anchorEvery === 0) anchors.set(h.subarray(o, o + n), (((t + 1) / anchorEvery - 1) * B + b) * n);
      loss += readoutLossAt(spec, inp, h, o, a, y, t, b);
    }
  }
  hLast.set(h);
  return loss / (spec.lastOnly ? B : T * B);
}

/** The gradient sums both JS backwards accumulate (Float64, as the native ones): the readout's and the input projection's. */
interface JsBackwardBuffers extends ReadoutBuffers {
  dU: Float64Array;
  db: Float64Array;
}

function jsBackwardBuffers(spec: FusedStepSpec): JsBackwardBuffers {
  return { ...readoutBuffers(spec), dU: new Float64Array(spec.k * spec.n), db: new Float64Array(spec.n) };
}

/** Copies the sums into the op's gradients; ds is dL/ds (Hadamard signs) or dL/dW (dense). */
function writeJsGradients(buf: JsBackwardBuffers, ds: Float64Array, carry: Float32Array, g: FusedStepGradients): void {
  g.dU.set(buf.dU);
  g.db.set(buf.db);
  g.ds.set(ds);
  g.dV.set(buf.dV);
  g.dc.set(buf.dc);
  if (g.dh0) g.dh0.set(carry);
}

function backwardJs(spec: FusedStepSpec, inp: FusedStepInputs, hLast: Float32Array, anchors: Float32Array | null, dy: number, g: FusedStepGradients): void {
  const { T, B, n, blockSize: m, anchorEvery } = spec;
  const hs = 1 / Math.sqrt(m);
  const scale = dy / (spec.lastOnly ? B : T * B);
  const h = hLast.slice();
  const carry = new Float32Array(B * n);
  const z = new Float32Array(n);
  const u = new Float32Array(n);
  const buf = jsBackwardBuffers(spec);
  const { d } = buf;
  const ds = new Float64Array(n);
  const recT = recurrentTransform(spec, true); // carry and rebuilt state: (I ⊗ H_mᵀ)
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      const o = b * n;
      readoutBackwardRow(spec, inp, buf, h, o, carry, o, t, b, scale);
      projectBackwardRow(spec, inp.x, row, buf.d, buf.dU, buf.db);
      projectRow(spec, inp.x, inp.U, inp.b, row, z);
      for (let i = 0; i < n; i++) u[i] = inp.s[i] * (h[o + i] - z[i]);
      if (t > 0 || inp.h0) for (let i = 0; i < n; i++) ds[i] += d[i] * u[i];
      for (let i = 0; i < n; i++) carry[o + i] = d[i] * inp.s[i];
      recT(carry, o);
      for (let i = 0; i < n; i++) carry[o + i] *= hs;
      if (t > 0) {
        if (anchors && anchorEvery > 0 && t % anchorEvery === 0) {
          const ao = ((t / anchorEvery - 1) * B + b) * n;
          h.set(anchors.subarray(ao, ao + n), o);
        } else {
          h.set(u, o);
          recT(h, o);
          for (let i = 0; i < n; i++) h[o + i] *= hs;
        }
      }
    }
  }
  writeJsGradients(buf, ds, carry, g);
}

// Dense recurrence h_t = σ(W h_{t−1} + z_t) with checkpointed BPTT: the forward keeps the states
// h_{k−1}, h_{2k−1}, … (the anchors); the backward takes the segments [jk, (j+1)k) from the last
// to the first and, row by row, recomputes the segment's k states from the checkpoint before it
// (k·n floats of scratch per row), then runs BPTT through them. σ' is read off h = σ(a).

const ACT_CODE = { linear: 0, relu: 1, tanh: 2 } as const;

function denseStep(act: number, W: Float32Array, prev: Float32Array | null, po: number, z: Float32Array, out: Float32Array, oo: number, n: number): void {
  for (let i = 0; i < n; i++) {
    let a = z[i];
    if (prev) {
      const wi = i * n;
      for (let j = 0; j < n; j++) a += W[wi + j] * prev[po + j];
    }
    out[oo + i] = act === 1 ? (a > 0 ? a : 0) : act === 2 ? Math.tanh(a) : a;
  }
}

function forwardDenseJs(spec: FusedStepSpec, inp: FusedStepInputs, hLast: Float32Array, anchors: Float32Array | null): number {
  const { T, B, n, classes, anchorEvery } = spec;
  const act = ACT_CODE[spec.activation];
  const h = new Float32Array(B * n);
  if (inp.h0) h.set(inp.h0);
  const prev = new Float32Array(n);
  const z = new Float32Array(n);
  const a = new Float32Array(n);
  const y = new Float64Array(classes);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const row = t * B + b;
      const o = b * n;
      projectRow(spec, inp.x, inp.U, inp.b, row, z);
      prev.set(h.subarray(o, o + n));
      denseStep(act, inp.s, t > 0 || inp.h0 ? prev : null, 0, z, h, o, n);
      if (anchors && anchorEvery > 0 && (t + 1) % anchorEvery === 0) anchors.set(h.subarray(o, o + n), (((t + 1) / anchorEvery - 1) * B + b) * n);
      loss += readoutLossAt(spec, inp, h, o, a, y, t, b);
    }
  }
  hLast.set(h);
  return loss / (spec.lastOnly ? B : T * B);
}

function backwardDenseJs(spec: FusedStepSpec, inp: FusedStepInputs, anchors: Float32Array | null, dy: number, g: FusedStepGradients): void {
  const { T, B, n } = spec;
  const act = ACT_CODE[spec.activation];
  const K = spec.anchorEvery > 0 ? spec.anchorEvery : T;
  const scale = dy / (spec.lastOnly ? B : T * B);
  const seg = new Float32Array(K * n);
  const carry = new Float32Array(B * n);
  const z = new Float32Array(n);
  const buf = jsBackwardBuffers(spec);
  const { d } = buf;
  const dW = new Float64Array(n * n);
  const segments = Math.ceil(T / K);
  for (let j = segments - 1; j >= 0; j--) {
    const t0 = j * K;
    const t1 = Math.min(T, t0 + K);
    for (let b = 0; b < B; b++) {
      const o = b * n;
      // The state entering the segment: h0 (or none) for the first, else the checkpoint h_{t0−1}.
      const start = j === 0 ? inp.h0 : anchors;
      const so = j === 0 ? o : ((j - 1) * B + b) * n;
      for (let t = t0; t < t1; t++) {
        projectRow(spec, inp.x, inp.U, inp.b, t * B + b, z);
        if (t === t0) denseStep(act, inp.s, start, so, z, seg, 0, n);
        else denseStep(act, inp.s, seg, (t - t0 - 1) * n, z, seg, (t - t0) * n, n);
      }
      for (let t = t1 - 1; t >= t0; t--) {
        const row = t * B + b;
        const ho = (t - t0) * n;
        readoutBackwardRow(spec, inp, buf, seg, ho, carry, o, t, b, scale);
        // δ = dh ⊙ σ'(h).
        for (let i = 0; i < n; i++) {
          const hv = seg[ho + i];
          if (act === 1 && !(hv > 0)) d[i] = 0;
          else if (act === 2) d[i] *= 1 - hv * hv;
        }
        projectBackwardRow(spec, inp.x, row, buf.d, buf.dU, buf.db);
        // dW += δ ⊗ h_{t−1}; carry = Wᵀ δ.
        const prev = t > t0 ? seg : t === 0 ? inp.h0 : anchors;
        const po = t > t0 ? ho - n : t === 0 ? o : ((j - 1) * B + b) * n;
        if (prev) for (let i = 0; i < n; i++) for (let jj = 0; jj < n; jj++) dW[i * n + jj] += d[i] * prev[po + jj];
        for (let jj = 0; jj < n; jj++) {
          let acc = 0;
          for (let i = 0; i < n; i++) acc += inp.s[i * n + jj] * d[i];
          carry[o + jj] = acc;
        }
      }
    }
  }
  writeJsGradients(buf, dW, carry, g);
}

export const jsFusedStep: FusedStepImplementation = {
  name: 'js',
  forward: (spec, inp, hLast, anchors) => (spec.kind === 'dense' ? forwardDenseJs(spec, inp, hLast, anchors) : forwardJs(spec, inp, hLast, anchors)),
  backward: (spec, inp, hLast, anchors, dy, g) => (spec.kind === 'dense' ? backwardDenseJs(spec, inp, anchors, dy, g) : backwardJs(spec, inp, hLast, anchors, dy, g)),
};

/** The fused step's implementations. */
export const FUSED_STEP_IMPLEMENTATIONS: OpImplementations<FusedStepImplementation> = { what: 'fused step', js: jsFusedStep, native: (nat) => nat.fusedStep };

/** The loss and hLast (and anchors) on Float32Arrays. */
export function fusedStepForward(spec: FusedStepSpec, inp: FusedStepInputs, opts: { implementation?: KernelImplementation } = {}): { loss: number; hLast: Float32Array; anchors: Float32Array | null } {
  checkFusedStep(spec, inp, 'fusedStepForward');
  const hLast = new Float32Array(spec.B * spec.n);
  const anchors = anchorLength(spec) > 0 ? new Float32Array(anchorLength(spec)) : null;
  const { impl, threads } = selectImplementation(FUSED_STEP_IMPLEMENTATIONS, opts.implementation);
  return { loss: impl.forward(spec, inp, hLast, anchors, threads), hLast, anchors };
}

/** The gradients of dy·L on Float32Arrays, from the forward's hLast and anchors. */
export function fusedStepBackward(
  spec: FusedStepSpec,
  inp: FusedStepInputs,
  hLast: Float32Array,
  anchors: Float32Array | null,
  dy = 1,
  opts: { implementation?: KernelImplementation } = {},
): FusedStepGradients {
  checkFusedStep(spec, inp, 'fusedStepBackward');
  const { B, n, k, classes } = spec;
  if (hLast.length !== B * n) throw new Error(`fusedStepBackward: hLast has ${hLast.length} values, expected ${B * n}`);
  if ((anchors?.length ?? 0) !== anchorLength(spec)) throw new Error(`fusedStepBackward: anchors has ${anchors?.length ?? 0} values, expected ${anchorLength(spec)}`);
  const g: FusedStepGradients = {
    dU: new Float32Array(k * n), db: new Float32Array(n), ds: new Float32Array(spec.kind === 'dense' ? n * n : n),
    dh0: inp.h0 ? new Float32Array(B * n) : null, dV: new Float32Array(n * classes), dc: new Float32Array(classes),
  };
  const { impl, threads } = selectImplementation(FUSED_STEP_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, inp, hLast, anchors, dy, g, threads);
  return g;
}

// ---------------------------------------------------------------------------------------------
// The tfjs op: `OrthoquantFusedStep` [x, U, b, s, h0?, V, c, targets] → [loss, hLast, anchors];
// `OrthoquantFusedStepGrad` [dy, x, U, b, s, h0?, V, c, targets, hLast, anchors] → [dU, db, ds, dh0?, dV, dc].

export const FUSED_STEP_KERNEL = 'OrthoquantFusedStep';
export const FUSED_STEP_GRAD_KERNEL = 'OrthoquantFusedStepGrad';

interface FusedStepAttrs extends LossAttrs {
  kind: 'hadamard' | 'dense';
  activation: 'linear' | 'relu' | 'tanh';
  blockSize: number;
  /** Orders p·2^k: p and H_p (row-major ±1) as a number list; p = 1: none. */
  p: number;
  hp: number[];
  anchorEvery: number;
}

type Info = tf.TensorInfo;

function specOf(a: FusedStepAttrs, x: Info, U: Info, V: Info): FusedStepSpec {
  const order = a.p > 1 ? { p: a.p, hp: Int8Array.from(a.hp) } : {};
  return { ...lossShapeOf(a, x, U, V), blockSize: a.blockSize, anchorEvery: a.anchorEvery, kind: a.kind, activation: a.activation, ...order };
}

function inputsOf(list: Info[], a: FusedStepAttrs, call: KernelCall<FusedStepAttrs, unknown>): FusedStepInputs {
  const [x, U, b, s, h0, V, c, targets] = list as [Info, Info, Info, Info, Info, Info, Info, Info];
  return readLossInputs(FUSED_STEP_KERNEL, call, a.indexInputs, { x, floats: { U, b, s, V, c }, optional: { h0: a.hasH0 ? h0 : null }, targets });
}

const fusedStepOp = defineFusedOp<FusedStepAttrs, FusedStepImplementation>({
  kernelName: FUSED_STEP_KERNEL,
  gradKernelName: FUSED_STEP_GRAD_KERNEL,
  implementations: FUSED_STEP_IMPLEMENTATIONS,
  forward: (call) => {
    const { inputs: list, attrs: a, impl, io } = call;
    const spec = specOf(a, list[0]!, list[1]!, list[5]!);
    const A = anchorLength(spec);
    const outs = [io.alloc([]), io.alloc([spec.B, spec.n]), io.alloc(A > 0 ? [A / (spec.B * spec.n), spec.B, spec.n] : [1])];
    // Views only after the allocations above.
    const inp = inputsOf(list, a, call);
    // The native op checks its buffers (indices, targets, signs); the JS loops would read out of range.
    if (a.implementation === 'js') checkFusedStep(spec, inp, FUSED_STEP_KERNEL);
    const anchors = io.view(outs[2]);
    const loss = impl.forward(spec, inp, io.view(outs[1]), A > 0 ? anchors : null, a.threads);
    io.view(outs[0])[0] = loss;
    if (A === 0) anchors.fill(0);
    return outs.map((o) => io.finish(o));
  },
  backward: (call) => {
    const { inputs, attrs: a, impl, io } = call;
    const [dyInfo, ...rest] = inputs;
    const list = rest.slice(0, 8);
    const [hLast, anchors] = rest.slice(8) as [Info, Info];
    const spec = specOf(a, list[0]!, list[1]!, list[5]!);
    const { B, n, k, classes } = spec;
    const outs = [io.alloc([k, n]), io.alloc([n]), io.alloc(spec.kind === 'dense' ? [n, n] : [n]), io.alloc([n, classes]), io.alloc([classes])];
    if (a.hasH0) outs.push(io.alloc([B, n]));
    const inp = inputsOf(list, a, call);
    const g: FusedStepGradients = {
      dU: io.view(outs[0]), db: io.view(outs[1]), ds: io.view(outs[2]), dV: io.view(outs[3]), dc: io.view(outs[4]),
      dh0: a.hasH0 ? io.view(outs[5]) : null,
    };
    const dy = io.read(dyInfo!)[0];
    impl.backward(spec, inp, io.read(hLast), anchorLength(spec) > 0 ? io.read(anchors) : null, dy, g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    inputsToSave: ['0', '1', '2', '3', '4', '5', '6', '7'],
    outputsToSave: [false, true, true],
    inputs: (dy, saved) => [dy, ...saved],
    grads: (outs, saved, a) => {
      const [dU, db, ds, dV, dc] = outs;
      const dh0 = a.hasH0 ? outs[5] : undefined;
      const [x, , , , h0, , , targets] = saved;
      return {
        0: () => tf.zerosLike(x!), 1: () => dU!, 2: () => db!, 3: () => ds!, 4: () => dh0 ?? tf.zerosLike(h0!),
        5: () => dV!, 6: () => dc!, 7: () => tf.zerosLike(targets!),
      };
    },
  },
});

export interface HadamardRnnLossOptions {
  /** Hadamard block size m (2^k, or p·2^k with `p` and `hp`, dividing n); default n. */
  blockSize?: number;
  /** Orders p·2^k that are not powers of two: the order p of H_p (H_m = H_p ⊗ H_{2^k}). */
  p?: number;
  /** H_p row-major ±1 [p·p] (with p > 1). */
  hp?: Int8Array;
  /** ReLU before the readout (default false: identity). */
  readoutRelu?: boolean;
  /** Anchor spacing of the rebuilt states (default 1000; 0: none). */
  anchorEvery?: number;
}

export interface DenseRnnLossOptions {
  /** σ of the recurrence (default linear). */
  activation?: 'linear' | 'relu' | 'tanh';
  /** ReLU before the readout (default false: identity). */
  readoutRelu?: boolean;
  /** Checkpoint spacing k (default ⌈√T⌉; 0: none, the backward recomputes all T steps per row). */
  checkpointEvery?: number;
}

/**
 * The mean softmax cross-entropy of a linear HadamRNN, as one op: over all T·B steps (targets
 * int32 [T, B]) or over the last step's B rows (targets int32 [B]: many-to-one, as pMNIST).
 * Inputs: x float32 [T, B, k] (gradient zero — not for embeddings) or x int32 [T, B], the row of
 * U each step reads (one-hot inputs as their hot index; k = U's rows). U [k, n], b [n], s [n]
 * (every entry ±1), h0 [B, n] or null, V [n, classes], c [classes].
 * Differentiable w.r.t. U, b, s, h0, V, c. Memory kept for the gradient: x, the parameters, the
 * targets, the last state and ⌊T/anchorEvery⌋ states.
 */
export function hadamardRnnLoss(
  x: tf.Tensor3D | tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D, s: tf.Tensor1D, h0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D,
  opts: HadamardRnnLossOptions = {},
): tf.Scalar {
  const where = 'hadamardRnnLoss';
  const n = U.shape[1];
  if (s.rank !== 1 || s.shape[0] !== n) throw new Error(`${where}: s must be [${n}], got [${s.shape.join(', ')}]`);
  const blockSize = opts.blockSize ?? n;
  const p = opts.p ?? 1;
  checkHadamardOrder({ n, blockSize, p, hp: opts.hp }, where);
  if (s.dtype === 'float32' && !isSignVector(s.dataSync() as Float32Array)) throw new Error(`${where}: every s must be exactly ±1 (reversible BPTT needs an exactly orthogonal recurrence)`);
  const anchorEvery = opts.anchorEvery ?? 1000;
  return fusedLoss(where, x, U, b, s, h0, V, c, targets, {
    kind: 'hadamard', activation: 'linear', blockSize, p, hp: p > 1 ? Array.from(opts.hp!) : [], relu: Boolean(opts.readoutRelu), anchorEvery,
  });
}

/**
 * The same loss for a dense recurrence h_t = σ(W h_{t−1} + x_t U + b) (W [n, n], any matrix:
 * QORNN's approximately orthogonal W, float ORNNs; σ linear, ReLU or tanh), as one op with
 * checkpointed BPTT: the forward keeps one state every `checkpointEvery` steps, the backward
 * recomputes each segment (the JS implementation row by row; the native one for all of a thread's
 * rows at once, as blocked matrix products). Inputs as `hadamardRnnLoss`; differentiable w.r.t. U, b,
 * W, h0, V, c. Memory kept for the gradient: x, the parameters, the targets and ⌊T/k⌋ states.
 */
export function denseRnnLoss(
  x: tf.Tensor3D | tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D, W: tf.Tensor2D, h0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D,
  opts: DenseRnnLossOptions = {},
): tf.Scalar {
  const where = 'denseRnnLoss';
  const n = U.shape[1];
  if (W.rank !== 2 || W.shape[0] !== n || W.shape[1] !== n) throw new Error(`${where}: W must be [${n}, ${n}], got [${W.shape.join(', ')}]`);
  const activation = opts.activation ?? 'linear';
  if (!['linear', 'relu', 'tanh'].includes(activation)) throw new Error(`${where}: activation must be linear|relu|tanh, got '${String(activation)}'`);
  const anchorEvery = opts.checkpointEvery ?? Math.ceil(Math.sqrt(x.shape[0]));
  return fusedLoss(where, x, U, b, W, h0, V, c, targets, { kind: 'dense', activation, blockSize: 1, p: 1, hp: [], relu: Boolean(opts.readoutRelu), anchorEvery });
}

function fusedLoss(
  where: string, x: tf.Tensor3D | tf.Tensor2D, U: tf.Tensor2D, b: tf.Tensor1D, w: tf.Tensor, h0: tf.Tensor2D | null, V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D,
  base: Pick<FusedStepAttrs, 'kind' | 'activation' | 'blockSize' | 'p' | 'hp' | 'relu' | 'anchorEvery'>,
): tf.Scalar {
  const { T, B, k, indexInputs, lastOnly } = lossTensorSizes(where, x, 'U', U, targets);
  const n = U.shape[1];
  checkLossTensors(
    where,
    [['U', U, [k, n]], ['b', b, [n]], ['h0', h0, [B, n]], ['V', V, [n, V.shape[1]]], ['c', c, [V.shape[1]]], ['targets', targets, lastOnly ? [B] : [T, B]]],
    [['U', U], ['b', b], [base.kind === 'dense' ? 'W' : 's', w], ['h0', h0], ['V', V], ['c', c]],
    targets,
  );
  checkNonNegativeInteger(where, base.kind === 'dense' ? 'checkpointEvery' : 'anchorEvery', base.anchorEvery);
  const { name: implementation, threads } = selectImplementation(FUSED_STEP_IMPLEMENTATIONS);
  const attrs: FusedStepAttrs = { ...base, lastOnly, indexInputs, hasH0: Boolean(h0), threads, implementation };
  const [loss, hLast, anchors] = fusedStepOp.run([x, U, b, w, h0, V, c, targets], attrs) as tf.Tensor[];
  tf.dispose([hLast!, anchors!]);
  return loss as tf.Scalar;
}
