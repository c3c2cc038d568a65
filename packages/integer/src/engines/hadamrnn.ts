/**
 * Integer HadamRNN / Block-HadamRNN engine.
 *
 * Recurrent step, per row (all integers, no multiplication):
 * - a = (I ⊗ H_m) q_{t−1}: fast Walsh–Hadamard transform, log₂ m stages of adds/subs;
 * - a_j ← −a_j where sign_j = −1, branch-free: (a ^ s) − s with s = 0 or −1 (xor, sub);
 * - v = roundingRightShift(a + z_t, r_p), ties away from zero (and, shifts, adds);
 * - q_t = clamp(v, −2^{b−1}, 2^{b−1} − 1), then max(q_t, 0) for ReLU.
 * The 1/√m of W is the shift r_p and the phase change of the state grid (see `IntegerHadamRnn`).
 * Input projection z_t and readout are outside this loop (they multiply by the U, V codes).
 */
import type { IntegerHadamRnnArgs } from '@orthoquant/kernels';
import type { IntegerHadamRnn } from '../model.js';
import { checkState, projectInputs, readoutInteger, stateInRange } from './common.js';
import { nativeEngines, packHadamRnn } from './native.js';
import { kronConstants, kronHadamardStep } from './hadamrnn-kron.js';
import type { IntegerOutput, IntegerState } from './common.js';

/** Operation counts of the recurrent loop. */
export interface OpCounts {
  add: number;
  sub: number;
  shift: number;
  /** Bitwise and/or and comparisons (saturation, rounding, ReLU). */
  logic: number;
  mul: number;
}

/**
 * One recurrent step of B rows, in place on `h` (`[B, n]`), reading `z[zOffset …]`.
 * Written without `*`, `/` or `%` anywhere (indices advance by addition), so that a test can
 * check its source as well as its behaviour.
 */
export function hadamardStep(h: Int32Array, z: Int32Array, zOffset: number, B: number, n: number, m: number, signMask: Int32Array, shift: number, qmin: number, qmax: number, relu: boolean): void {
  const mask = shift === 31 ? 0x7fffffff : (1 << shift) - 1;
  const half = mask >> 1;
  const end = B === 0 ? 0 : rowsEnd(B, n);
  let zi = zOffset;
  for (let row = 0; row < end; row += n) {
    // Walsh–Hadamard butterflies on each block of m entries.
    for (let base = row; base < row + n; base += m) {
      for (let w = 1; w < m; w <<= 1) {
        const stride = w << 1;
        for (let i = base; i < base + m; i += stride) {
          for (let j = i; j < i + w; j++) {
            const a = h[j];
            const c = h[j + w];
            h[j] = a + c;
            h[j + w] = a - c;
          }
        }
      }
    }
    for (let j = row, k = 0; k < n; j++, k++, zi++) {
      // Branch-free: sign flip (h ^ s) − s with s ∈ {0, −1}; rounding increment from the sign
      // bit of (threshold − remainder); ReLU as v & ~(v ≫ 31).
      const sgn = signMask[k];
      let v = z[zi] + ((h[j] ^ sgn) - sgn);
      if (shift > 0) {
        const up = (half + (v >>> 31) - (v & mask)) >>> 31;
        v = (v >> shift) + up;
      }
      if (v < qmin) v = qmin;
      else if (v > qmax) v = qmax;
      if (relu) v &= ~(v >> 31);
      h[j] = v;
    }
  }
}

/** B·n by repeated addition (keeps `hadamardStep` free of multiplications). */
function rowsEnd(B: number, n: number): number {
  let e = 0;
  for (let b = 0; b < B; b++) e += n;
  return e;
}

/**
 * `hadamardStep` with every arithmetic operation counted (same results; slow). A test checks
 * that both agree and that `mul` stays 0.
 */
export function hadamardStepCounted(h: Int32Array, z: Int32Array, zOffset: number, B: number, n: number, m: number, signMask: Int32Array, shift: number, qmin: number, qmax: number, relu: boolean, ops: OpCounts): void {
  const mask = shift === 31 ? 0x7fffffff : (1 << shift) - 1;
  const half = mask >> 1;
  let zi = zOffset;
  let row = 0;
  for (let b = 0; b < B; b++, row += n) {
    for (let base = row; base < row + n; base += m) {
      for (let w = 1; w < m; w <<= 1) {
        for (let i = base; i < base + m; i += w << 1) {
          for (let j = i; j < i + w; j++) {
            const a = h[j];
            const c = h[j + w];
            h[j] = a + c;
            h[j + w] = a - c;
            ops.add++;
            ops.sub++;
          }
        }
      }
    }
    for (let j = row, k = 0; k < n; j++, k++, zi++) {
      const sgn = signMask[k];
      let v = z[zi] + ((h[j] ^ sgn) - sgn);
      ops.logic++; // xor
      ops.sub++;
      ops.add++;
      if (shift > 0) {
        const up = (half + (v >>> 31) - (v & mask)) >>> 31;
        v = (v >> shift) + up;
        ops.logic++; // and
        ops.shift += 3;
        ops.add += 2;
        ops.sub++;
      }
      ops.logic += 2; // saturation compares
      if (v < qmin) v = qmin;
      else if (v > qmax) v = qmax;
      if (relu) {
        v &= ~(v >> 31);
        ops.shift++;
        ops.logic += 2;
      }
      h[j] = v;
    }
  }
}

/** The signs as masks: 0 for +1, −1 (all bits set) for −1, so that (h ^ s) − s = sign·h. */
export function signMasks(signs: Int8Array): Int32Array {
  const out = new Int32Array(signs.length);
  for (let i = 0; i < signs.length; i++) out[i] = signs[i] < 0 ? -1 : 0;
  return out;
}

export interface EngineOptions {
  /** Count the operations of the recurrent loop (slow path; HadamRNN only). */
  countOps?: OpCounts;
  /** Start from this state and leave the final one in it (default: zeros, not kept). */
  state?: IntegerState;
}

/** Run the integer HadamRNN on input codes `xq` (`[T, B, inputSize]`, from `quantizeInputs`). */
export function runHadamRnn(model: IntegerHadamRnn, xq: Int32Array, T: number, B: number, options: EngineOptions = {}): IntegerOutput {
  const { n, blockSize: m, outputSize: O } = model;
  // The previous state of step t is on phase t mod 2 (h_{−1} = 0 on phase 0).
  if (options.state) checkState(options.state, B, n, false);
  const phase0 = options.state?.phase ?? 0;
  const nat = model.hadamardP || options.countOps ? null : nativeEngines();
  if (nat && (!options.state || stateInRange(options.state.h, -(2 ** (model.actBits - 1)), 2 ** (model.actBits - 1) - 1))) {
    const steps = model.readout === 'last' ? 1 : T;
    const logits = new Int32Array(steps * B * O);
    const h = options.state?.h ?? new Int32Array(B * n);
    const int16Steps = nat.integerHadamRnn({
      T, B, n, blockSize: m, inputSize: model.inputSize, outputSize: O, actBits: model.actBits, relu: model.activation === 'relu',
      readoutRelu: model.readoutActivation === 'relu', manyToMany: model.readout === 'many-to-many', phase0, xq, inputZeroPoint: model.inputZeroPoint,
      ...(packHadamRnn(model) as Pick<IntegerHadamRnnArgs, 'U' | 'bInput' | 'inputRescale' | 'signMask' | 'stepShifts' | 'V' | 'cLogit'>), h, logits,
    });
    const logitScales = new Float64Array(steps);
    for (let k = 0; k < steps; k++) {
      const t = model.readout === 'last' ? T - 1 : k;
      logitScales[k] = model.V.scale * model.stateScales[1 - ((t + phase0) & 1)];
    }
    if (options.state) options.state.phase = ((T + phase0) & 1) as 0 | 1;
    return { logits, logitScales, T, B, engine: 'native', int16Steps };
  }
  const z = projectInputs(xq, T, B, model.U, model.inputZeroPoint, model.bInput, (t) => model.inputRescale[(t + phase0) & 1]);
  const h = options.state?.h ?? new Int32Array(B * n);
  const signMask = signMasks(model.signs);
  const qmin = -(2 ** (model.actBits - 1));
  const qmax = 2 ** (model.actBits - 1) - 1;
  const relu = model.activation === 'relu';
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Int32Array(steps * B * O);
  const logitScales = new Float64Array(steps);
  const readRelu = model.readoutActivation === 'relu';
  const stride = B * n;
  // Orders p·2^k (not powers of two): the Kronecker step (hadamrnn-kron.ts).
  const kron = model.hadamardP ? kronConstants(model) : null;
  if (kron && options.countOps) throw new Error('runHadamRnn: countOps counts the power-of-two step only (this model has a Hadamard order p·2^k)');
  for (let t = 0, zOff = 0; t < T; t++, zOff += stride) {
    const p = (t + phase0) & 1;
    if (kron) kronHadamardStep(h, z, zOff, B, n, m, kron, signMask, model.stepShifts[p], qmin, qmax, relu);
    else if (options.countOps) hadamardStepCounted(h, z, zOff, B, n, m, signMask, model.stepShifts[p], qmin, qmax, relu, options.countOps);
    else hadamardStep(h, z, zOff, B, n, m, signMask, model.stepShifts[p], qmin, qmax, relu);
    if (model.readout === 'many-to-many' || t === T - 1) {
      const k = model.readout === 'last' ? 0 : t;
      const q = 1 - p; // phase of h_t
      readoutInteger(h, B, n, model.V, model.cLogit[q], readRelu, 0, logits, k * B * O);
      logitScales[k] = model.V.scale * model.stateScales[q];
    }
  }
  if (options.state) options.state.phase = ((T + phase0) & 1) as 0 | 1;
  return { logits, logitScales, T, B, engine: 'js' };
}
