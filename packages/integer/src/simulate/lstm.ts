/** Float64 simulation of the integer LSTM (see `engines/lstm.ts`). */
import { clampF64, mulQuantizedF64, roundShiftF64 } from '../fixed-point/fixed-point-f64.js';
import type { IntegerLstm } from '../model.js';
import { projectInputsF64, readoutF64 } from './common.js';
import type { SimulatedOutput } from './common.js';

function lookupF64(table: Int16Array, x: number): number {
  const u = x + 32768;
  const idx = Math.floor(u / 128);
  const frac = u - idx * 128;
  return table[idx] + roundShiftF64((table[idx + 1] - table[idx]) * frac, 7);
}

export function simulateLstm(model: IntegerLstm, xq: ArrayLike<number>, T: number, B: number): SimulatedOutput {
  const { n, outputSize: O, cellShift } = model;
  const n4 = 4 * n;
  const gx = projectInputsF64(xq, T, B, model.Wx, model.inputZeroPoint, model.bInput, () => model.inputRescale);
  const zp = model.stateZeroPoint;
  const h = new Float64Array(B * n).fill(zp);
  const c = new Float64Array(B * n);
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Float64Array(steps * B * O);
  const sat16 = (v: number) => clampF64(v, -32768, 32767);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const pre = new Float64Array(n4);
      for (let k = 0; k < n4; k++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc += model.Wh.codes[j * n4 + k] * (h[b * n + j] - zp);
        pre[k] = sat16(gx[(t * B + b) * n4 + k] + mulQuantizedF64(clampF64(acc, -(2 ** 31), 2 ** 31 - 1), model.recurrentRescale));
      }
      for (let j = 0; j < n; j++) {
        const i = lookupF64(model.sigmoidTable, pre[j]);
        const f = lookupF64(model.sigmoidTable, pre[n + j]);
        const g = lookupF64(model.tanhTable, pre[2 * n + j]);
        const o = lookupF64(model.sigmoidTable, pre[3 * n + j]);
        const cj = sat16(roundShiftF64(f * c[b * n + j], 15) + roundShiftF64(i * g, 30 - cellShift));
        c[b * n + j] = cj;
        const q312 = cellShift >= 12 ? roundShiftF64(cj, cellShift - 12) : sat16(cj * 2 ** (12 - cellShift));
        const tc = lookupF64(model.tanhTable, q312);
        h[b * n + j] = clampF64(mulQuantizedF64(o * tc, model.hiddenRescale) + zp, -128, 127);
      }
    }
    if (model.readout === 'many-to-many' || t === T - 1) {
      readoutF64(h, B, n, model.V, model.cLogit, false, zp, logits, (model.readout === 'last' ? 0 : t) * B * O);
    }
  }
  return { logits, logitScales: new Float64Array(steps).fill(model.V.scale * model.stateScale) };
}
