/** Float64 simulation of the integer HadamRNN (see `engines/hadamrnn.ts`). */
import { hadamardTransformInPlace } from '@orthoquant/orthogonal';
import { clampF64, roundShiftF64 } from '../fixed-point/fixed-point-f64.js';
import type { IntegerHadamRnn } from '../model.js';
import { projectInputsF64, readoutF64 } from './common.js';
import type { SimulatedOutput } from './common.js';

export function simulateHadamRnn(model: IntegerHadamRnn, xq: ArrayLike<number>, T: number, B: number): SimulatedOutput {
  const { n, blockSize: m, outputSize: O } = model;
  const z = projectInputsF64(xq, T, B, model.U, model.inputZeroPoint, model.bInput, (t) => model.inputRescale[t % 2]);
  const qmax = 2 ** (model.actBits - 1) - 1;
  const qmin = -qmax - 1;
  const h = new Float64Array(B * n);
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Float64Array(steps * B * O);
  const logitScales = new Float64Array(steps);
  // Orders p·2^k: a ↦ Σ_{set bits e of C} ⌊a·2^e / 2^{F−G}⌋ (each term floored as the engine's shifts).
  const bitsOfC: number[] = [];
  if (model.stepMultiplier !== undefined) for (let e = 0; e < 31; e++) if (Math.floor(model.stepMultiplier / 2 ** e) % 2 === 1) bitsOfC.push(e);
  const F = model.multiplierShift ?? 0;
  const scaled = (a: number): number => {
    if (model.stepMultiplier === undefined) return a;
    let s = 0;
    for (const e of bitsOfC) s += Math.floor(a * 2 ** (e - F + model.stepShifts[0]));
    return s;
  };
  for (let t = 0; t < T; t++) {
    const p = t % 2;
    hadamardTransformInPlace(h, n, m); // (I ⊗ H_m) h, H_m = H_p ⊗ H_2^k; exact: integer sums far below 2^53
    for (let i = 0; i < B * n; i++) {
      const v = model.signs[i % n] * scaled(h[i]) + z[t * B * n + i];
      let q = clampF64(roundShiftF64(v, model.stepShifts[p]), qmin, qmax);
      if (model.activation === 'relu') q = Math.max(q, 0);
      h[i] = q;
    }
    if (model.readout === 'many-to-many' || t === T - 1) {
      const k = model.readout === 'last' ? 0 : t;
      readoutF64(h, B, n, model.V, model.cLogit[1 - p], model.readoutActivation === 'relu', 0, logits, k * B * O);
      logitScales[k] = model.V.scale * model.stateScales[1 - p];
    }
  }
  return { logits, logitScales };
}
