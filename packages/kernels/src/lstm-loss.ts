/**
 * The whole LSTM training loss as one op — input projection, the LSTM recurrence, the readout and
 * the mean softmax cross-entropy over all T·B steps (many-to-many) or over the B rows of the last
 * step (many-to-one) — with every parameter gradient by checkpointed BPTT (native/lstm-loss.cc;
 * this file holds the JS implementation, held to the same tests, and the tfjs op). Gate order
 * i, f, g, o (PyTorch's):
 *
 *   a_t = x_t Wx + b + h_{t−1} Wh,   c_t = σ(a_f) ⊙ c_{t−1} + σ(a_i) ⊙ tanh(a_g),   h_t = σ(a_o) ⊙ tanh(c_t)
 *   y_t = f(h_t) V + c,   L = mean over the read-out rows of logsumexp(y) − y[target]   (f = identity | ReLU)
 *
 * Inputs are float rows x [T, B, k] or row indices i [T, B] into Wx (one-hot inputs as their hot
 * index: x_t Wx = Wx[i_t], a gather). The forward keeps (h, c) every `checkpointEvery` = K steps
 * (default ⌈√T⌉); the backward recomputes each segment of K steps from the checkpoint before it
 * and runs BPTT through it. Nothing of size T·B·n exists in either pass. The readout and loss are
 * fused-loss.ts's (one code for every fused loss); the quantizers stay in tfjs autodiff around it.
 */
import { tf } from '@orthoquant/runtime';
import { selectImplementation } from './implementation.js';
import type { KernelImplementation, OpImplementations } from './implementation.js';
import { defineFusedOp } from './fused-op.js';
import type { KernelCall } from './fused-op.js';
import {
  checkLossBuffers, checkLossSizes, checkLossTensors, checkNonNegativeInteger, lossShapeOf, lossTensorSizes, projectBackwardRow, projectRow, readLossInputs, readoutBackwardRow, readoutBuffers,
  readoutLossAt,
} from './fused-loss.js';
import type { LossAttrs, LossInputs, LossShape } from './fused-loss.js';

/** The sizes (see LossShape: x rows index Wx; the gates are 4n wide) and the checkpoint spacing. */
export interface LstmLossSpec extends LossShape {
  /** Keep (h, c) after steps K−1, 2K−1, … and recompute each segment of K steps in the backward (0: none, one segment of T). */
  checkpointEvery: number;
}

/** x, h0, the readout and the targets (see LossInputs), the LSTM's weights and c0. */
export interface LstmLossInputs extends LossInputs {
  Wx: Float32Array; // [k·4n]
  b: Float32Array; // [4n]
  Wh: Float32Array; // [n·4n]: a = h Wh
  c0: Float32Array | null; // [B·n]
}

export interface LstmLossGradients {
  dWx: Float32Array;
  db: Float32Array;
  dWh: Float32Array;
  dh0: Float32Array | null;
  dc0: Float32Array | null;
  dV: Float32Array;
  dc: Float32Array;
}

export interface LstmLossImplementation {
  readonly name: 'native' | 'js';
  /** The mean loss; writes the checkpoints [⌊T/K⌋·B·2n] ((h, c) per row). */
  forward(spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null, threads: number): number;
  /** Gradients of dy·L (every buffer of g overwritten). */
  backward(spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null, dy: number, g: LstmLossGradients, threads: number): void;
}

export function checkpointLength(spec: LstmLossSpec): number {
  return spec.checkpointEvery > 0 ? Math.floor(spec.T / spec.checkpointEvery) * spec.B * 2 * spec.n : 0;
}

/** Check a spec and its buffers; messages name the offending quantity. */
export function checkLstmLoss(spec: LstmLossSpec, inp: LstmLossInputs, where: string): void {
  const { B, n, k } = spec;
  checkLossSizes(spec, where);
  checkNonNegativeInteger(where, 'checkpointEvery', spec.checkpointEvery);
  checkLossBuffers(spec, inp, [['Wx', inp.Wx, k * 4 * n], ['b', inp.b, 4 * n], ['Wh', inp.Wh, n * 4 * n], ['h0', inp.h0, B * n], ['c0', inp.c0, B * n]], where);
}

// ---------------------------------------------------------------------------------------------
// JS implementation (the same loops as native/lstm-loss.cc, one thread, row by row).

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * One step of one row: a (the projection) += h_{t−1} Wh, then c ← f c_{t−1} + i g, h ← o tanh(c),
 * and, with s, the activations i, f, g, o written to s[so…so+4n). hp/cp null: zero state.
 */
function cellStep(n: number, Wh: Float32Array, a: Float32Array, hp: Float32Array | null, hpo: number, cp: Float32Array | null, cpo: number, h: Float32Array, ho: number, c: Float32Array, co: number, s: Float32Array | null, so: number): void {
  const w = 4 * n;
  if (hp) {
    for (let j = 0; j < n; j++) {
      const hv = hp[hpo + j];
      if (hv === 0) continue;
      const o = j * w;
      for (let q = 0; q < w; q++) a[q] += hv * Wh[o + q];
    }
  }
  for (let u = 0; u < n; u++) {
    const i = sigmoid(a[u]);
    const f = sigmoid(a[n + u]);
    const g = Math.tanh(a[2 * n + u]);
    const o = sigmoid(a[3 * n + u]);
    const cv = f * (cp ? cp[cpo + u] : 0) + i * g;
    c[co + u] = cv;
    h[ho + u] = o * Math.tanh(cv);
    if (s) {
      s[so + u] = i;
      s[so + n + u] = f;
      s[so + 2 * n + u] = g;
      s[so + 3 * n + u] = o;
    }
  }
}

/** The state entering segment j of row b: h0, c0 (or none) for j = 0, else checkpoint j − 1. */
function startOf(spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null, j: number, b: number) {
  const { B, n } = spec;
  if (j === 0) return { h: inp.h0, ho: b * n, c: inp.c0, co: b * n };
  const o = ((j - 1) * B + b) * 2 * n;
  return { h: checkpoints, ho: o, c: checkpoints, co: o + n };
}

function forwardJs(spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null): number {
  const { T, B, n, checkpointEvery: K } = spec;
  const h = new Float32Array(B * n);
  const c = new Float32Array(B * n);
  if (inp.h0) h.set(inp.h0);
  if (inp.c0) c.set(inp.c0);
  const a = new Float32Array(4 * n);
  const ra = new Float32Array(n);
  const y = new Float64Array(spec.classes);
  let loss = 0;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const o = b * n;
      projectRow(spec, inp.x, inp.Wx, inp.b, t * B + b, a);
      cellStep(n, inp.Wh, a, t > 0 || inp.h0 ? h : null, o, c, o, h, o, c, o, null, 0);
      if (checkpoints && K > 0 && (t + 1) % K === 0) {
        const so = (((t + 1) / K - 1) * B + b) * 2 * n;
        checkpoints.set(h.subarray(o, o + n), so);
        checkpoints.set(c.subarray(o, o + n), so + n);
      }
      loss += readoutLossAt(spec, inp, h, o, ra, y, t, b);
    }
  }
  return loss / (spec.lastOnly ? B : T * B);
}

function backwardJs(spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null, dy: number, g: LstmLossGradients): void {
  const { T, B, n, k } = spec;
  const w = 4 * n;
  const K = spec.checkpointEvery > 0 ? spec.checkpointEvery : T;
  const scale = dy / (spec.lastOnly ? B : T * B);
  // Per row and segment: h, c [K·n] and the activations i, f, g, o [K·4n].
  const Hs = new Float32Array(K * n);
  const Cs = new Float32Array(K * n);
  const S = new Float32Array(K * w);
  const ch = new Float32Array(B * n); // dL/dh_t from step t + 1
  const cc = new Float32Array(B * n); // dL/dc_t from step t + 1
  const da = new Float32Array(w);
  const buf = readoutBuffers(spec);
  const { d } = buf;
  const dWx = new Float64Array(k * w);
  const db = new Float64Array(w);
  const dWh = new Float64Array(n * w);
  const segments = Math.ceil(T / K);
  for (let j = segments - 1; j >= 0; j--) {
    const t0 = j * K;
    const t1 = Math.min(T, t0 + K);
    for (let b = 0; b < B; b++) {
      const o = b * n;
      const start = startOf(spec, inp, checkpoints, j, b);
      for (let t = t0; t < t1; t++) {
        const a = S.subarray((t - t0) * w, (t - t0 + 1) * w);
        projectRow(spec, inp.x, inp.Wx, inp.b, t * B + b, a);
        const first = t === t0;
        cellStep(n, inp.Wh, a, first ? start.h : Hs, first ? start.ho : (t - t0 - 1) * n, first ? start.c : Cs, first ? start.co : (t - t0 - 1) * n, Hs, (t - t0) * n, Cs, (t - t0) * n, S, (t - t0) * w);
      }
      for (let t = t1 - 1; t >= t0; t--) {
        const row = t * B + b;
        const ho = (t - t0) * n;
        const so = (t - t0) * w;
        readoutBackwardRow(spec, inp, buf, Hs, ho, ch, o, t, b, scale);
        const first = t === t0;
        const cp = first ? start.c : Cs;
        const cpo = first ? start.co : ho - n;
        for (let u = 0; u < n; u++) {
          const i = S[so + u];
          const f = S[so + n + u];
          const gg = S[so + 2 * n + u];
          const og = S[so + 3 * n + u];
          const tc = Math.tanh(Cs[ho + u]);
          const dh = d[u];
          const dc = cc[o + u] + dh * og * (1 - tc * tc);
          da[u] = dc * gg * i * (1 - i);
          da[n + u] = dc * (cp ? cp[cpo + u] : 0) * f * (1 - f);
          da[2 * n + u] = dc * i * (1 - gg * gg);
          da[3 * n + u] = dh * tc * og * (1 - og);
          cc[o + u] = dc * f;
        }
        projectBackwardRow(spec, inp.x, row, da, dWx, db); // dWx += x_tᵀ da, db += da
        // dWh += h_{t−1}ᵀ da; carry_h = da Whᵀ.
        const hp = first ? start.h : Hs;
        const hpo = first ? start.ho : ho - n;
        if (hp) {
          for (let jj = 0; jj < n; jj++) {
            const hv = hp[hpo + jj];
            if (hv !== 0) for (let q = 0; q < w; q++) dWh[jj * w + q] += hv * da[q];
          }
        }
        for (let jj = 0; jj < n; jj++) {
          let acc = 0;
          for (let q = 0; q < w; q++) acc += inp.Wh[jj * w + q] * da[q];
          ch[o + jj] = acc;
        }
      }
    }
  }
  g.dWx.set(dWx);
  g.db.set(db);
  g.dWh.set(dWh);
  g.dV.set(buf.dV);
  g.dc.set(buf.dc);
  if (g.dh0) g.dh0.set(ch);
  if (g.dc0) g.dc0.set(cc);
}

export const jsLstmLoss: LstmLossImplementation = {
  name: 'js',
  forward: (spec, inp, checkpoints) => forwardJs(spec, inp, checkpoints),
  backward: (spec, inp, checkpoints, dy, g) => backwardJs(spec, inp, checkpoints, dy, g),
};

export const LSTM_LOSS_IMPLEMENTATIONS: OpImplementations<LstmLossImplementation> = { what: 'LSTM loss', js: jsLstmLoss, native: (nat) => nat.lstmLoss };

/** The loss and the checkpoints on Float32Arrays. */
export function lstmLossForward(spec: LstmLossSpec, inp: LstmLossInputs, opts: { implementation?: KernelImplementation } = {}): { loss: number; checkpoints: Float32Array | null } {
  checkLstmLoss(spec, inp, 'lstmLossForward');
  const len = checkpointLength(spec);
  const checkpoints = len > 0 ? new Float32Array(len) : null;
  const { impl, threads } = selectImplementation(LSTM_LOSS_IMPLEMENTATIONS, opts.implementation);
  return { loss: impl.forward(spec, inp, checkpoints, threads), checkpoints };
}

/** The gradients of dy·L on Float32Arrays, from the forward's checkpoints. */
export function lstmLossBackward(
  spec: LstmLossSpec, inp: LstmLossInputs, checkpoints: Float32Array | null, dy = 1, opts: { implementation?: KernelImplementation } = {},
): LstmLossGradients {
  checkLstmLoss(spec, inp, 'lstmLossBackward');
  const { B, n, k, classes } = spec;
  if ((checkpoints?.length ?? 0) !== checkpointLength(spec)) throw new Error(`lstmLossBackward: checkpoints has ${checkpoints?.length ?? 0} values, expected ${checkpointLength(spec)}`);
  const g: LstmLossGradients = {
    dWx: new Float32Array(k * 4 * n), db: new Float32Array(4 * n), dWh: new Float32Array(n * 4 * n),
    dh0: inp.h0 ? new Float32Array(B * n) : null, dc0: inp.c0 ? new Float32Array(B * n) : null, dV: new Float32Array(n * classes), dc: new Float32Array(classes),
  };
  const { impl, threads } = selectImplementation(LSTM_LOSS_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, inp, checkpoints, dy, g, threads);
  return g;
}

// ---------------------------------------------------------------------------------------------
// The tfjs op: `OrthoquantLstmLoss` [x, Wx, b, Wh, h0?, c0?, V, c, targets] → [loss, checkpoints];
// `OrthoquantLstmLossGrad` [dy, x, Wx, b, Wh, h0?, c0?, V, c, targets, checkpoints] → [dWx, db, dWh, dV, dc, dh0?, dc0?].

export const LSTM_LOSS_KERNEL = 'OrthoquantLstmLoss';
export const LSTM_LOSS_GRAD_KERNEL = 'OrthoquantLstmLossGrad';

interface LstmLossAttrs extends LossAttrs {
  hasC0: boolean;
  checkpointEvery: number;
}

type Info = tf.TensorInfo;

function specOf(a: LstmLossAttrs, x: Info, Wx: Info, V: Info): LstmLossSpec {
  return { ...lossShapeOf(a, x, Wx, V, 4), checkpointEvery: a.checkpointEvery };
}

function inputsOf(list: Info[], a: LstmLossAttrs, call: KernelCall<LstmLossAttrs, unknown>): LstmLossInputs {
  const [x, Wx, b, Wh, h0, c0, V, c, targets] = list as [Info, Info, Info, Info, Info, Info, Info, Info, Info];
  return readLossInputs(LSTM_LOSS_KERNEL, call, a.indexInputs, { x, floats: { Wx, b, Wh, V, c }, optional: { h0: a.hasH0 ? h0 : null, c0: a.hasC0 ? c0 : null }, targets });
}

const lstmLossOp = defineFusedOp<LstmLossAttrs, LstmLossImplementation>({
  kernelName: LSTM_LOSS_KERNEL,
  gradKernelName: LSTM_LOSS_GRAD_KERNEL,
  implementations: LSTM_LOSS_IMPLEMENTATIONS,
  forward: (call) => {
    const { inputs: list, attrs: a, impl, io } = call;
    const spec = specOf(a, list[0]!, list[1]!, list[6]!);
    const len = checkpointLength(spec);
    const outs = [io.alloc([]), io.alloc(len > 0 ? [len / (spec.B * 2 * spec.n), spec.B, 2 * spec.n] : [1])];
    // Views only after the allocations above.
    const inp = inputsOf(list, a, call);
    // The native op checks its buffers (indices, targets); the JS loops would read out of range.
    if (a.implementation === 'js') checkLstmLoss(spec, inp, LSTM_LOSS_KERNEL);
    const checkpoints = io.view(outs[1]);
    io.view(outs[0])[0] = impl.forward(spec, inp, len > 0 ? checkpoints : null, a.threads);
    if (len === 0) checkpoints.fill(0);
    return outs.map((o) => io.finish(o));
  },
  backward: (call) => {
    const { inputs, attrs: a, impl, io } = call;
    const [dyInfo, ...rest] = inputs;
    const list = rest.slice(0, 9);
    const checkpoints = rest[9]!;
    const spec = specOf(a, list[0]!, list[1]!, list[6]!);
    const { B, n, k, classes } = spec;
    const outs = [io.alloc([k, 4 * n]), io.alloc([4 * n]), io.alloc([n, 4 * n]), io.alloc([n, classes]), io.alloc([classes])];
    if (a.hasH0) outs.push(io.alloc([B, n]));
    if (a.hasC0) outs.push(io.alloc([B, n]));
    const inp = inputsOf(list, a, call);
    const g: LstmLossGradients = {
      dWx: io.view(outs[0]), db: io.view(outs[1]), dWh: io.view(outs[2]), dV: io.view(outs[3]), dc: io.view(outs[4]),
      dh0: a.hasH0 ? io.view(outs[5]) : null, dc0: a.hasC0 ? io.view(outs[a.hasH0 ? 6 : 5]) : null,
    };
    const dy = io.read(dyInfo!)[0];
    impl.backward(spec, inp, checkpointLength(spec) > 0 ? io.read(checkpoints) : null, dy, g, a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    inputsToSave: ['0', '1', '2', '3', '4', '5', '6', '7', '8'],
    outputsToSave: [false, true],
    inputs: (dy, saved) => [dy, ...saved],
    grads: (outs, saved, a) => {
      const [dWx, db, dWh, dV, dc] = outs;
      const dh0 = a.hasH0 ? outs[5] : undefined;
      const dc0 = a.hasC0 ? outs[a.hasH0 ? 6 : 5] : undefined;
      const [x, , , , h0, c0, , , targets] = saved;
      return {
        0: () => tf.zerosLike(x!), 1: () => dWx!, 2: () => db!, 3: () => dWh!, 4: () => dh0 ?? tf.zerosLike(h0!), 5: () => dc0 ?? tf.zerosLike(c0!),
        6: () => dV!, 7: () => dc!, 8: () => tf.zerosLike(targets!),
      };
    },
  },
});

export interface LstmRnnLossOptions {
  /** ReLU before the readout (default false: identity). */
  readoutRelu?: boolean;
  /** Checkpoint spacing K (default ⌈√T⌉; 0: none, the backward recomputes all T steps). */
  checkpointEvery?: number;
}

/**
 * The mean softmax cross-entropy of an LSTM with a readout, as one op: over all T·B steps
 * (targets int32 [T, B]) or over the last step's B rows (targets int32 [B]: many-to-one).
 * Inputs: x float32 [T, B, k] (gradient zero — not for embeddings) or x int32 [T, B], the row of
 * Wx each step reads (one-hot inputs as their hot index; k = Wx's rows). Wx [k, 4n], b [4n],
 * Wh [n, 4n] (a_t = x_t Wx + b + h_{t−1} Wh, gates i, f, g, o), h0 and c0 [B, n] or null,
 * V [n, classes], c [classes]. Differentiable w.r.t. Wx, b, Wh, h0, c0, V, c. Memory kept for the
 * gradient: x, the parameters, the targets and ⌊T/K⌋ states (h, c).
 */
export function lstmRnnLoss(
  x: tf.Tensor3D | tf.Tensor2D, Wx: tf.Tensor2D, b: tf.Tensor1D, Wh: tf.Tensor2D, h0: tf.Tensor2D | null, c0: tf.Tensor2D | null,
  V: tf.Tensor2D, c: tf.Tensor1D, targets: tf.Tensor2D | tf.Tensor1D, opts: LstmRnnLossOptions = {},
): tf.Scalar {
  const where = 'lstmRnnLoss';
  const { T, B, k, indexInputs, lastOnly } = lossTensorSizes(where, x, 'Wx', Wx, targets);
  if (Wx.rank !== 2 || Wx.shape[1] % 4 !== 0) throw new Error(`${where}: Wx must be [k, 4n], got [${Wx.shape.join(', ')}]`);
  const n = Wx.shape[1] / 4;
  checkLossTensors(
    where,
    [['Wx', Wx, [k, 4 * n]], ['b', b, [4 * n]], ['Wh', Wh, [n, 4 * n]], ['h0', h0, [B, n]], ['c0', c0, [B, n]], ['V', V, [n, V.shape[1]]], ['c', c, [V.shape[1]]], ['targets', targets, lastOnly ? [B] : [T, B]]],
    [['Wx', Wx], ['b', b], ['Wh', Wh], ['h0', h0], ['c0', c0], ['V', V], ['c', c]],
    targets,
  );
  const checkpointEvery = opts.checkpointEvery ?? Math.ceil(Math.sqrt(T));
  checkNonNegativeInteger(where, 'checkpointEvery', checkpointEvery);
  const { name: implementation, threads } = selectImplementation(LSTM_LOSS_IMPLEMENTATIONS);
  const attrs: LstmLossAttrs = { relu: Boolean(opts.readoutRelu), lastOnly, indexInputs, hasH0: Boolean(h0), hasC0: Boolean(c0), checkpointEvery, threads, implementation };
  const [loss, checkpoints] = lstmLossOp.run([x, Wx, b, Wh, h0, c0, V, c, targets], attrs) as tf.Tensor[];
  tf.dispose(checkpoints!);
  return loss as tf.Scalar;
}
