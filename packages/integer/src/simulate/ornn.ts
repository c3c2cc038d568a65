/** Float64 simulation of the integer dense ORNN (see `engines/ornn.ts`). */
import { clampF64, mulQuantizedF64 } from '../fixed-point/fixed-point-f64.js';
import type { IntegerOrnn } from '../model.js';
import { projectInputsF64, readoutF64 } from './common.js';
import type { SimulatedOutput } from './common.js';

export function simulateOrnn(model: IntegerOrnn, xq: ArrayLike<number>, T: number, B: number): SimulatedOutput {
  const { n, outputSize: O } = model;
  const z = projectInputsF64(xq, T, B, model.U, model.inputZeroPoint, model.bInput, () => model.inputRescale);
  const qmax = 2 ** (model.actBits - 1) - 1;
  let h = new Float64Array(B * n);
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Float64Array(steps * B * O);
  for (let t = 0; t < T; t++) {
    const next = new Float64Array(B * n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < n; i++) {
        let acc = z[(t * B + b) * n + i];
        for (let j = 0; j < n; j++) acc += model.W.codes[i * n + j] * h[b * n + j];
        const v = clampF64(mulQuantizedF64(clampF64(acc, -(2 ** 31), 2 ** 31 - 1), model.stateRescale), -qmax - 1, qmax);
        next[b * n + i] = model.activation === 'relu' ? Math.max(v, 0) : v;
      }
    }
    h = next;
    if (model.readout === 'many-to-many' || t === T - 1) {
      readoutF64(h, B, n, model.V, model.cLogit, model.readoutActivation === 'relu', 0, logits, (model.readout === 'last' ? 0 : t) * B * O);
    }
  }
  return { logits, logitScales: new Float64Array(steps).fill(model.V.scale * model.stateScale) };
}
