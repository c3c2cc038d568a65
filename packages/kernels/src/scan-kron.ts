/**
 * HadamRNN recurrences whose Hadamard order is not a power of two: m = p·2^k with H_m =
 * H_p ⊗ H_q (q = 2^k, H_p any ±1 Hadamard matrix of order p, e.g. Paley's 12, 20, 28…), per
 * block of m (Block-HadamRNN: I_{n/m} ⊗ H_m):
 *
 *   H[t] = σ(s ⊙ (H_p ⊗ H_q) h_{t−1} / √m + Z[t])
 *
 * - (H_p ⊗ H_q) v = (H_p ⊗ I_q)(I_p ⊗ H_q) v: the fast Walsh–Hadamard transform of each of
 *   the p slices of q entries, then the p × p ±1 transform across slices ("p-stage"): row a
 *   of the result is Σ_{b: H_p[a,b] = +1} slice_b − Σ_{b: H_p[a,b] = −1} slice_b, additions and
 *   subtractions of contiguous slices only. O(m·(p + log₂ q)) per block instead of m².
 * - BPTT: dL/dh_{t−1} = (H_pᵀ ⊗ H_q)(s ⊙ δ)/√m (Paley matrices are not symmetric: the
 *   p-stage runs with H_pᵀ), dL/ds = Σ δ ⊙ (H_p ⊗ H_q) h_{t−1}/√m.
 * - Plain JS on every backend (`kronHadamardScan` logs once that the native addon has no
 *   p-stage); the power-of-two case stays on `hadamardScan` and its native kernels.
 */
import { tf, log } from '@orthoquant/runtime';
import { ACT, activate, deltaRow, fwhtBlocks, prevRow } from './scan-js.js';
import { activationCode, isPowerOfTwo } from './scan-spec.js';
import type { Activation, ScanForwardInputs, ScanGradients } from './scan-spec.js';

/** A Kronecker Hadamard recurrence: blocks of m = p·q, H_p given (row-major ±1, p × p). */
export interface KronScanSpec {
  activation: Activation;
  T: number;
  B: number;
  n: number;
  /** Block size m = p·q dividing n (m = n: HadamRNN). */
  blockSize: number;
  p: number;
  /** H_p, row-major ±1 [p·p]. */
  hp: Int8Array;
}

/** The p-stage as lists of slices to add and to subtract for each output slice. */
export interface PStage {
  p: number;
  q: number;
  plus: Int32Array[];
  minus: Int32Array[];
}

/** Check that `hp` is a ±1 matrix of order p (H_p H_pᵀ = p I is the caller's construction). */
function checkHp(hp: Int8Array, p: number, where: string): void {
  if (!(hp instanceof Int8Array) || hp.length !== p * p) throw new Error(`${where}: hp must be an Int8Array of p·p = ${p * p} entries (H_p row-major), got ${hp instanceof Int8Array ? hp.length : typeof hp}`);
  const bad = hp.findIndex((v) => v !== 1 && v !== -1);
  if (bad >= 0) throw new Error(`${where}: hp[${bad}] = ${hp[bad]}, expected ±1`);
}

/** The p-stage of H_p (or H_pᵀ) over slices of q entries. */
export function pStage(hp: Int8Array, p: number, q: number, transpose = false): PStage {
  checkHp(hp, p, 'pStage');
  const plus: Int32Array[] = [];
  const minus: Int32Array[] = [];
  for (let a = 0; a < p; a++) {
    const pl: number[] = [];
    const mi: number[] = [];
    for (let b = 0; b < p; b++) (hp[transpose ? b * p + a : a * p + b] > 0 ? pl : mi).push(b);
    plus.push(Int32Array.from(pl));
    minus.push(Int32Array.from(mi));
  }
  return { p, q, plus, minus };
}

type NumArray = Float32Array | Float64Array | Int32Array;

/**
 * x[off .. off+p·q) ← (H_p ⊗ I_q) x, in place: output slice a = Σ⁺ slices − Σ⁻ slices.
 * Additions and subtractions only (exact on integers). `tmp` holds ≥ p·q values of x's type.
 */
export function applyPStage<A extends NumArray>(st: PStage, x: A, off: number, tmp: A): void {
  const { p, q, plus, minus } = st;
  const m = p * q;
  for (let i = 0; i < m; i++) tmp[i] = x[off + i];
  for (let a = 0; a < p; a++) {
    const out = off + a * q;
    const pl = plus[a];
    const mi = minus[a];
    // Hadamard rows have at least one +1 or one −1: start from the first term, no zeroing.
    if (pl.length > 0) {
      let src = pl[0] * q;
      for (let j = 0; j < q; j++) x[out + j] = tmp[src + j];
      for (let k = 1; k < pl.length; k++) {
        src = pl[k] * q;
        for (let j = 0; j < q; j++) x[out + j] += tmp[src + j];
      }
      for (let k = 0; k < mi.length; k++) {
        src = mi[k] * q;
        for (let j = 0; j < q; j++) x[out + j] -= tmp[src + j];
      }
    } else {
      for (let j = 0; j < q; j++) x[out + j] = -tmp[mi[0] * q + j];
      for (let k = 1; k < mi.length; k++) {
        const src = mi[k] * q;
        for (let j = 0; j < q; j++) x[out + j] -= tmp[src + j];
      }
    }
  }
}

/** In-place fast Walsh–Hadamard transform of x[off .. off+len) in blocks of q, any numeric array. */
function fwhtSlices(x: NumArray, off: number, len: number, q: number): void {
  if (x instanceof Float32Array) {
    fwhtBlocks(x, off, len, q);
    return;
  }
  for (let base = off; base < off + len; base += q) {
    for (let h = 1; h < q; h <<= 1) {
      for (let i = base; i < base + q; i += h << 1) {
        for (let j = i; j < i + h; j++) {
          const a = x[j];
          const b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
      }
    }
  }
}

/**
 * x[off .. off+n) ← (I_{n/m} ⊗ H_p ⊗ H_q) x in place (unnormalised), m = p·q: FWHT of every
 * q-slice, then the p-stage of every block. Additions and subtractions only.
 */
export function kronTransform<A extends NumArray>(st: PStage, x: A, off: number, n: number, tmp: A): void {
  const m = st.p * st.q;
  fwhtSlices(x, off, n, st.q);
  if (st.p > 1) for (let base = off; base < off + n; base += m) applyPStage(st, x, base, tmp);
}

export function checkKronSpec(spec: KronScanSpec, where: string): number {
  const { T, B, n, blockSize: m, p } = spec;
  for (const [k, v] of [['T', T], ['B', B], ['n', n], ['p', p]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${v}`);
  }
  activationCode(spec.activation, where);
  if (!Number.isInteger(m) || m < 1 || n % m !== 0) throw new Error(`${where}: blockSize ${m} must divide the hidden size n = ${n}`);
  if (m % p !== 0 || !isPowerOfTwo(m / p)) throw new Error(`${where}: blockSize ${m} must be p·2^k with p = ${p}`);
  checkHp(spec.hp, p, where);
  return m / p;
}

/** H [T·B·n] of the Kronecker-Hadamard recurrence (plain JS). */
export function kronScanForward(spec: KronScanSpec, inp: ScanForwardInputs, out: Float32Array = new Float32Array(spec.T * spec.B * spec.n)): Float32Array {
  const q = checkKronSpec(spec, 'kronScanForward');
  const { T, B, n, blockSize: m } = spec;
  const act = ACT[spec.activation];
  const { z, w, h0, bias } = inp;
  const st = pStage(spec.hp, spec.p, q);
  const scale = 1 / Math.sqrt(m);
  const stride = B * n;
  const zeros = new Float32Array(n);
  const buf = new Float32Array(n);
  const tmp = new Float32Array(m);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const [a, o] = prevRow(t, b, n, stride, out, h0, zeros);
      buf.set(a.subarray(o, o + n));
      kronTransform(st, buf, 0, n, tmp);
      const ot = t * stride + b * n;
      for (let i = 0; i < n; i++) out[ot + i] = activate(act, buf[i] * w[i] * scale + z[ot + i], bias, i);
    }
  }
  return out;
}

/** BPTT of `kronScanForward` from dL/dH and H: writes g.dz, g.dw (dL/ds), g.dh0, g.dbias. */
export function kronScanBackward(spec: KronScanSpec, inp: ScanForwardInputs, H: Float32Array, dH: Float32Array, g: ScanGradients): ScanGradients {
  const q = checkKronSpec(spec, 'kronScanBackward');
  const { T, B, n, blockSize: m } = spec;
  const act = ACT[spec.activation];
  const { w, h0 } = inp;
  const st = pStage(spec.hp, spec.p, q);
  const stT = pStage(spec.hp, spec.p, q, true);
  const scale = 1 / Math.sqrt(m);
  const { dz, dw, dh0, dbias } = g;
  dw.fill(0);
  if (dbias) dbias.fill(0);
  const carry = new Float32Array(B * n);
  const delta = new Float32Array(n);
  const buf = new Float32Array(n);
  const tmp = new Float32Array(m);
  const zeros = new Float32Array(n);
  const stride = B * n;
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b++) {
      const c = b * n;
      deltaRow(act, dH, H, t * stride + c, carry, c, delta, 0, dz, dbias, n);
      if (t > 0 || h0) {
        const [a, o] = prevRow(t, b, n, stride, H, h0, zeros);
        buf.set(a.subarray(o, o + n));
        kronTransform(st, buf, 0, n, tmp);
        for (let i = 0; i < n; i++) dw[i] += delta[i] * buf[i] * scale;
      }
      for (let i = 0; i < n; i++) carry[c + i] = delta[i] * w[i] * scale;
      kronTransform(stT, carry, c, n, tmp);
    }
  }
  if (dh0) dh0.set(carry);
  return g;
}

export interface KronHadamardScanOptions {
  activation?: Activation;
  /** Block size m = p·2^k dividing n; default n. */
  blockSize?: number;
  /** H_p: order p and its ±1 entries, row-major. */
  p: number;
  hp: Int8Array;
  /** modReLU bias [n] (modrelu only). */
  modreluBias?: tf.Tensor1D;
}

let announced = false;

/**
 * HadamRNN recurrence with a Kronecker Hadamard matrix as one differentiable op:
 * H[t] = σ(s ⊙ (I_{n/m} ⊗ H_p ⊗ H_q) h_{t−1}/√m + Z[t]), z [T, B, n], s [n], h0 [B, n] or null.
 * Differentiable w.r.t. z, s, h0 and modreluBias. Runs the plain-JS loops on every backend.
 */
export function kronHadamardScan(z: tf.Tensor3D, s: tf.Tensor1D, h0: tf.Tensor2D | null | undefined, opts: KronHadamardScanOptions): tf.Tensor3D {
  const where = 'kronHadamardScan';
  if (!(z instanceof tf.Tensor) || z.rank !== 3) throw new Error(`${where}: z must be a rank-3 tensor [T, B, n], got ${z instanceof tf.Tensor ? `rank ${z.rank}` : typeof z}`);
  const [T, B, n] = z.shape;
  const activation = opts.activation ?? 'linear';
  const spec: KronScanSpec = { activation, T, B, n, blockSize: opts.blockSize ?? n, p: opts.p, hp: opts.hp };
  checkKronSpec(spec, where);
  if (s.rank !== 1 || s.shape[0] !== n) throw new Error(`${where}: s must be [${n}] to match z [${z.shape.join(', ')}], got [${s.shape.join(', ')}]`);
  if (h0 && (h0.rank !== 2 || h0.shape[0] !== B || h0.shape[1] !== n)) throw new Error(`${where}: h0 must be [${B}, ${n}], got [${h0.shape.join(', ')}]`);
  const bias = activation === 'modrelu' ? opts.modreluBias : undefined;
  if (activation === 'modrelu' && (!bias || bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new Error(`${where}: activation 'modrelu' needs modreluBias of shape [${n}], got ${bias ? `[${bias.shape.join(', ')}]` : 'none'}`);
  }
  if (!announced) {
    announced = true;
    log().info({ n, blockSize: spec.blockSize, p: spec.p }, `kernels: Hadamard order ${spec.blockSize} = ${spec.p}·${spec.blockSize / spec.p} runs on the JS kernel (the native addon has no p-stage; powers of two stay native)`);
  }
  const hasH0 = Boolean(h0);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [zt, st, h0t, bt] = args as tf.Tensor[];
    const inp: ScanForwardInputs = {
      z: zt.dataSync() as Float32Array,
      w: st.dataSync() as Float32Array,
      h0: hasH0 ? (h0t.dataSync() as Float32Array) : null,
      bias: bias ? (bt.dataSync() as Float32Array) : null,
    };
    const Hout = tf.tensor3d(kronScanForward(spec, inp), [T, B, n]);
    save([st, h0t, bt, Hout]);
    return {
      value: Hout,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ss, hh, bb, HH] = saved;
        const g: ScanGradients = { dz: new Float32Array(T * B * n), dw: new Float32Array(n), dh0: hasH0 ? new Float32Array(B * n) : null, dbias: bias ? new Float32Array(n) : null };
        const inputs: ScanForwardInputs = { z: new Float32Array(0), w: ss.dataSync() as Float32Array, h0: hasH0 ? (hh.dataSync() as Float32Array) : null, bias: bias ? (bb.dataSync() as Float32Array) : null };
        kronScanBackward(spec, inputs, HH.dataSync() as Float32Array, dy.dataSync() as Float32Array, g);
        return [tf.tensor3d(g.dz, [T, B, n]), tf.tensor1d(g.dw), g.dh0 ? tf.tensor2d(g.dh0, [B, n]) : tf.zerosLike(hh), g.dbias ? tf.tensor1d(g.dbias) : tf.zerosLike(bb)];
      },
    };
  });
  // Absent h0 / bias: placeholders (never read; their gradients are zeros).
  return tf.tidy(() => op(z, s, h0 ?? tf.zeros([1]), bias ?? tf.zeros([1])) as tf.Tensor3D);
}
