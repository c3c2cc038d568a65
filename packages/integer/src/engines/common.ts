/** Pieces every integer engine shares: input codes, the input projection, the integer readout. */
import { roundHalfEven } from '@orthoquant/quantizers';
import { multiplyByQuantizedMultiplier, saturate, INT32_MAX, INT32_MIN } from '../fixed-point/fixed-point.js';
import type { FixedMultiplier } from '../fixed-point/fixed-point.js';
import type { IntegerModel, QuantizedTensor } from '../model.js';
import { checkInputs } from '../float/reference.js';
import { InputError } from '@orthoquant/runtime';
import { nativeEngines } from './native.js';

/** What an integer engine returns: int32 logits and the real value of one logit unit. */
export interface IntegerOutput {
  /** `[T, B, out]` (many-to-many) or `[B, out]` (last). */
  logits: Int32Array;
  /** Real step of the logits of each readout step (length T, or 1 for `last`). */
  logitScales: Float64Array;
  T: number;
  B: number;
  /** The engine that ran: native (@orthoquant/kernels) or JS (engines/native.ts chooses). */
  engine?: 'native' | 'js';
  /** Native HadamRNN: how many row-steps (of T·B) ran on 16-bit SIMD lanes, the rest on 32-bit. */
  int16Steps?: number;
}

/** Whether every state code lies in [qmin, qmax] (the native engines take only such states). */
export function stateInRange(h: Int32Array, qmin: number, qmax: number): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] < qmin || h[i] > qmax) return false;
  return true;
}

/**
 * Recurrent state carried from one batch to the next (Penn Treebank's truncated BPTT):
 * hidden codes `[B, n]`, the LSTM cell codes, and HadamRNN's grid phase. Engines start from it
 * and leave the final state in it (in place).
 */
export interface IntegerState {
  h: Int32Array;
  c?: Int32Array;
  /** HadamRNN: phase of the grid h lies on (0 at the start). */
  phase?: 0 | 1;
}

/** Check a carried state's sizes. */
export function checkState(state: IntegerState, B: number, n: number, cell: boolean): void {
  if (state.h.length !== B * n || (cell && state.c?.length !== B * n)) {
    throw new InputError(`expected h${cell ? ' and c' : ''} of B·n = ${B}·${n} = ${B * n} codes, got ${state.h.length}${cell ? ` and ${state.c?.length}` : ''}`, 'state');
  }
}

/** Largest |code| the input projection hands to the recurrence: sums with it stay inside int32. */
export const INPUT_LIMIT = 2 ** 30;

/**
 * The sensor boundary: float inputs to activation codes,
 * `x_q = clamp(roundHalfEven(x / inputScale) + zeroPoint, −2^{b−1}, 2^{b−1} − 1)`.
 */
export function quantizeInputs(model: IntegerModel, inputs: Float32Array, T: number, B: number): Int32Array {
  checkInputs(inputs, T, B, model.inputSize);
  return inputCodes(model, inputs);
}

/** `quantizeInputs` on any number of values (no shape check). */
export function inputCodes(model: Pick<IntegerModel, 'actBits' | 'inputScale' | 'inputZeroPoint'>, inputs: Float32Array): Int32Array {
  const qmin = -(2 ** (model.actBits - 1));
  const qmax = 2 ** (model.actBits - 1) - 1;
  const out = new Int32Array(inputs.length);
  const s = model.inputScale;
  // The native engines' copy of this loop (same doubles, same ties-to-even), when they run.
  const nat = nativeEngines();
  if (nat) {
    nat.quantizeInputs(inputs, s, model.inputZeroPoint, qmin, qmax, out);
    return out;
  }
  for (let i = 0; i < inputs.length; i++) out[i] = saturate(roundHalfEven(inputs[i] / s) + model.inputZeroPoint, qmin, qmax);
  return out;
}

/** Input codes of token inputs `[T·B]`: rows of the model's embedding codes. */
export function tokenInputCodes(model: IntegerModel, tokens: Int32Array): Int32Array {
  const E = model.embedding;
  if (!E || model.vocabSize === undefined) throw new InputError('this integer model has no embedding: it takes dense inputs, not token ids', 'inputs');
  const D = model.inputSize;
  const out = new Int32Array(tokens.length * D);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (!(tok >= 0 && tok < model.vocabSize)) throw new InputError(`token id ${tok} at position ${i} is outside [0, ${model.vocabSize})`, 'inputs');
    for (let d = 0; d < D; d++) out[i * D + d] = E[tok * D + d];
  }
  return out;
}

/** Float inputs of token ids: rows of a float embedding table `[vocabSize, D]`. */
export function embedTokens(embedding: Float32Array, vocabSize: number, tokens: Int32Array): Float32Array {
  const D = embedding.length / vocabSize;
  const out = new Float32Array(tokens.length * D);
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i];
    if (!(tok >= 0 && tok < vocabSize)) throw new InputError(`token id ${tok} at position ${i} is outside [0, ${vocabSize})`, 'inputs');
    out.set(embedding.subarray(tok * D, (tok + 1) * D), i * D);
  }
  return out;
}

/** Most distinct single-input rows `projectInputs` keeps (one wide-range input would not fit). */
const MAX_CACHED_ROWS = 4096;

/**
 * Integer input projection of every step (before the recurrent loop, the cuDNN habit):
 * `z[t,b,j] = rescale_t( Σ_d U_q[d,j]·(x_q[t,b,d] − zp) + bInput[j] )`, clamped to ±2^30.
 * The dot product is exact (it cannot overflow a double) and saturated to int32 first.
 * Rows with at most one input off the zero point (blank pixels, one-hot and token inputs) are a
 * function of (rescale, d, x_d): each is computed once and copied after that.
 */
export function projectInputs(xq: Int32Array, T: number, B: number, U: QuantizedTensor, zeroPoint: number, bInput: Int32Array, rescaleAt: (t: number) => FixedMultiplier): Int32Array {
  const [D, n] = U.shape;
  const z = new Int32Array(T * B * n);
  const acc = new Float64Array(n);
  const codes = U.codes;
  // Per rescale: rows keyed by d·2^32 + (x_d − zp) mod 2^32 (d = −1: all inputs at the zero point).
  const cached = new Map<FixedMultiplier, Map<number, Int32Array>>();
  let cachedRows = 0;
  for (let t = 0; t < T; t++) {
    const m = rescaleAt(t);
    let rows = cached.get(m);
    if (!rows) cached.set(m, (rows = new Map()));
    for (let b = 0; b < B; b++) {
      const xOff = (t * B + b) * D;
      const zOff = (t * B + b) * n;
      let off = 0;
      let which = -1;
      for (let d = 0; d < D && off < 2; d++) {
        if (xq[xOff + d] !== zeroPoint) {
          off++;
          which = d;
        }
      }
      const key = off < 2 ? which * 4294967296 + ((xq[xOff + which] - zeroPoint) >>> 0) : 0;
      const hit = off < 2 ? rows.get(key) : undefined;
      if (hit) {
        z.set(hit, zOff);
        continue;
      }
      for (let j = 0; j < n; j++) acc[j] = bInput[j];
      for (let d = 0; d < D; d++) {
        const xd = xq[xOff + d] - zeroPoint;
        if (xd === 0) continue;
        const row = d * n;
        for (let j = 0; j < n; j++) acc[j] += codes[row + j] * xd;
      }
      rescaleRow(acc, n, m, z, zOff, -INPUT_LIMIT, INPUT_LIMIT);
      if (off < 2 && cachedRows < MAX_CACHED_ROWS) {
        rows.set(key, z.slice(zOff, zOff + n));
        cachedRows++;
      }
    }
  }
  return z;
}

/**
 * `out[o + j] = clamp(multiplyByQuantizedMultiplier(sat32(acc[j]), m), lo, hi)` for j < count,
 * with the common case (no left shift, |x| < 2^22 so that x·M is an exact double) inlined:
 * round(x·M / 2^31) half away from zero, then the rounding right shift.
 */
export function rescaleRow(acc: Float64Array | Int32Array, count: number, m: FixedMultiplier, out: Int32Array, o: number, lo: number, hi: number): void {
  const M = m.multiplier;
  const right = -m.shift;
  const fast = m.shift <= 0 && right <= 31;
  const mask = right === 31 ? 0x7fffffff : (1 << right) - 1;
  const half = mask >> 1;
  for (let j = 0; j < count; j++) {
    const x = acc[j];
    let v: number;
    if (fast && x < 4194304 && x > -4194304) {
      const p = x * M;
      v = Math.trunc((p >= 0 ? p + 1073741824 : p + 1 - 1073741824) / 2147483648);
      if (right > 0) v = (v >> right) + ((v & mask) > half + (v < 0 ? 1 : 0) ? 1 : 0);
    } else {
      v = multiplyByQuantizedMultiplier(x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : x, m);
    }
    out[o + j] = v < lo ? lo : v > hi ? hi : v;
  }
}

// V codes transposed to [out, n] (one dot product per output), made once per tensor.
const transposed = new WeakMap<QuantizedTensor, Float64Array>();

function transposedCodes(V: QuantizedTensor): Float64Array {
  let t = transposed.get(V);
  if (!t) {
    const [n, O] = V.shape;
    t = new Float64Array(n * O);
    for (let j = 0; j < n; j++) for (let o = 0; o < O; o++) t[o * n + j] = V.codes[j * O + o];
    transposed.set(V, t);
  }
  return t;
}

/**
 * Integer readout of B rows: `logits[b,o] = sat32( Σ_j V_q[j,o]·f(q[b,j] − zp) + c[o] )`,
 * f = ReLU or identity. The sums are exact in doubles (integers far below 2^53), in any order.
 */
export function readoutInteger(q: Int32Array, B: number, n: number, V: QuantizedTensor, c: Int32Array, relu: boolean, zeroPoint: number, out: Int32Array, outOffset: number): void {
  const O = V.shape[1];
  const Vt = transposedCodes(V);
  const f = new Float64Array(n);
  for (let b = 0; b < B; b++) {
    const row = b * n;
    for (let j = 0; j < n; j++) {
      const v = q[row + j] - zeroPoint;
      f[j] = relu && v < 0 ? 0 : v;
    }
    // Four outputs per pass over f (one load of f[j] feeds four products).
    let o = 0;
    for (; o + 4 <= O; o += 4) {
      const v0 = o * n;
      const v1 = v0 + n;
      const v2 = v1 + n;
      const v3 = v2 + n;
      let s0 = c[o];
      let s1 = c[o + 1];
      let s2 = c[o + 2];
      let s3 = c[o + 3];
      for (let j = 0; j < n; j++) {
        const x = f[j];
        s0 += Vt[v0 + j] * x;
        s1 += Vt[v1 + j] * x;
        s2 += Vt[v2 + j] * x;
        s3 += Vt[v3 + j] * x;
      }
      const k = outOffset + b * O + o;
      out[k] = saturate(s0, INT32_MIN, INT32_MAX);
      out[k + 1] = saturate(s1, INT32_MIN, INT32_MAX);
      out[k + 2] = saturate(s2, INT32_MIN, INT32_MAX);
      out[k + 3] = saturate(s3, INT32_MIN, INT32_MAX);
    }
    for (; o < O; o++) {
      const vo = o * n;
      let s = c[o];
      for (let j = 0; j < n; j++) s += Vt[vo + j] * f[j];
      out[outOffset + b * O + o] = saturate(s, INT32_MIN, INT32_MAX);
    }
  }
}

/** Dequantized logits as Float32 (`logit · logitScales[step]`). */
export function dequantizeLogits(out: IntegerOutput): Float32Array {
  const r = new Float32Array(out.logits.length);
  const per = out.logits.length / out.logitScales.length;
  for (let i = 0; i < r.length; i++) r[i] = out.logits[i] * out.logitScales[Math.floor(i / per)];
  return r;
}
