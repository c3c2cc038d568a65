/**
 * Integer LSTM (Li & Alvarez; the TFLite integer LSTM scheme). Per step and row, gates
 * k ∈ {i, f, g, o}:
 * - pre_k = sat16( rescale_x(Wx_q (x_q − zp_x) + b) + rescale_h(Wh_q (h_q − zp_h)) ) in Q3.12;
 * - i, f, o = σ(pre), g = tanh(pre) in Q0.15, from a 513-entry table with linear interpolation;
 * - c = sat16( (f·c) ≫ 15 + (i·g) ≫ (30 − cellShift) ), real step 2^−cellShift;
 * - h_q = sat8( rescale(o · tanh(c in Q3.12)) + zp_h ), o·tanh in Q0.30.
 * `≫` is the rounding right shift (ties away from zero); every rescale is an int32 multiplier
 * plus a shift. No float in the loop.
 */
import { multiplyByQuantizedMultiplier, roundingRightShift, saturate, INT32_MAX, INT32_MIN } from '../fixed-point/fixed-point.js';
import type { IntegerLstm } from '../model.js';
import { checkState, projectInputs, readoutInteger } from './common.js';
import type { IntegerOutput, IntegerState } from './common.js';

/** Table lookup with linear interpolation: Q3.12 int16 in, Q0.15 out. */
export function lookupQ15(table: Int16Array, x: number): number {
  const u = x + 32768; // 0 … 65535
  const idx = u >> 7;
  const frac = u & 127;
  const base = table[idx];
  return base + roundingRightShift((table[idx + 1] - base) * frac, 7);
}

/** Cell code (step 2^−cellShift) to Q3.12. */
export function cellToQ312(c: number, cellShift: number): number {
  return cellShift >= 12 ? roundingRightShift(c, cellShift - 12) : saturate(c << (12 - cellShift), -32768, 32767);
}

export function runLstm(model: IntegerLstm, xq: Int32Array, T: number, B: number, state?: IntegerState): IntegerOutput {
  const { n, outputSize: O, cellShift } = model;
  const n4 = 4 * n;
  const gx = projectInputs(xq, T, B, model.Wx, model.inputZeroPoint, model.bInput, () => model.inputRescale);
  const Wh = model.Wh.codes;
  const zp = model.stateZeroPoint;
  if (state) checkState(state, B, n, true);
  const h = state?.h ?? new Int32Array(B * n).fill(zp); // h_{−1} = 0 in real terms
  const c = state?.c ?? new Int32Array(B * n);
  const acc = new Float64Array(n4);
  const pre = new Int32Array(n4);
  const sig = model.sigmoidTable;
  const tanh = model.tanhTable;
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Int32Array(steps * B * O);
  const logitScales = new Float64Array(steps).fill(model.V.scale * model.stateScale);
  const cellIn = 30 - cellShift;
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const hb = b * n;
      acc.fill(0);
      for (let j = 0; j < n; j++) {
        const hj = h[hb + j] - zp;
        if (hj === 0) continue;
        const row = j * n4;
        for (let k = 0; k < n4; k++) acc[k] += Wh[row + k] * hj;
      }
      const gb = (t * B + b) * n4;
      for (let k = 0; k < n4; k++) {
        const rec = multiplyByQuantizedMultiplier(saturate(acc[k], INT32_MIN, INT32_MAX), model.recurrentRescale);
        pre[k] = saturate(gx[gb + k] + rec, -32768, 32767);
      }
      for (let j = 0; j < n; j++) {
        const ig = lookupQ15(sig, pre[j]);
        const fg = lookupQ15(sig, pre[n + j]);
        const gg = lookupQ15(tanh, pre[2 * n + j]);
        const og = lookupQ15(sig, pre[3 * n + j]);
        const cj = saturate(roundingRightShift(fg * c[hb + j], 15) + roundingRightShift(ig * gg, cellIn), -32768, 32767);
        c[hb + j] = cj;
        const tc = lookupQ15(tanh, cellToQ312(cj, cellShift));
        h[hb + j] = saturate(multiplyByQuantizedMultiplier(og * tc, model.hiddenRescale) + zp, -128, 127);
      }
    }
    if (model.readout === 'many-to-many' || t === T - 1) {
      readoutInteger(h, B, n, model.V, model.cLogit, false, zp, logits, (model.readout === 'last' ? 0 : t) * B * O);
    }
  }
  return { logits, logitScales, T, B };
}
