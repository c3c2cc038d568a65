/**
 * Integer dense ORNN / QORNN engine. Per step and row:
 * - a_i = sat32( Σ_j W_q[i,j]·q_{t−1,j} + z_t,i ) (the dot product is exact, then saturated);
 * - q_t,i = clamp( a_i · W.scale as a fixed-point multiplier, −2^{b−1}, 2^{b−1} − 1 ), ReLU optional.
 * z_t = the input projection rescaled to the recurrent accumulator scale W.scale · stateScale.
 */
import type { IntegerOrnn } from '../model.js';
import type { IntegerOrnnArgs } from '@orthoquant/kernels';
import { checkState, projectInputs, readoutInteger, rescaleRow, stateInRange } from './common.js';
import { nativeEngines, packOrnn } from './native.js';
import type { IntegerOutput, IntegerState } from './common.js';

export function runOrnn(model: IntegerOrnn, xq: Int32Array, T: number, B: number, state?: IntegerState): IntegerOutput {
  const { n, outputSize: O } = model;
  if (state) checkState(state, B, n, false);
  const nat = nativeEngines();
  if (nat && (!state || stateInRange(state.h, -(2 ** (model.actBits - 1)), 2 ** (model.actBits - 1) - 1))) {
    const h = state ? Int32Array.from(state.h) : new Int32Array(B * n);
    const logits = new Int32Array((model.readout === 'last' ? 1 : T) * B * O);
    nat.integerOrnn({
      T, B, n, inputSize: model.inputSize, outputSize: O, actBits: model.actBits, relu: model.activation === 'relu',
      readoutRelu: model.readoutActivation === 'relu', manyToMany: model.readout === 'many-to-many', xq, inputZeroPoint: model.inputZeroPoint,
      ...(packOrnn(model) as Pick<IntegerOrnnArgs, 'U' | 'bInput' | 'inputRescale' | 'W' | 'stateRescale' | 'V' | 'cLogit'>), h, logits,
    });
    state?.h.set(h);
    return { logits, logitScales: new Float64Array(model.readout === 'last' ? 1 : T).fill(model.V.scale * model.stateScale), T, B, engine: 'native' };
  }
  const z = projectInputs(xq, T, B, model.U, model.inputZeroPoint, model.bInput, () => model.inputRescale);
  const W = model.W.codes;
  const qmin = -(2 ** (model.actBits - 1));
  const qmax = 2 ** (model.actBits - 1) - 1;
  const relu = model.activation === 'relu';
  let h = state ? Int32Array.from(state.h) : new Int32Array(B * n);
  let next = new Int32Array(B * n);
  const acc = new Float64Array(n);
  const steps = model.readout === 'last' ? 1 : T;
  const logits = new Int32Array(steps * B * O);
  const logitScales = new Float64Array(steps).fill(model.V.scale * model.stateScale);
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const hb = b * n;
      const zb = (t * B + b) * n;
      for (let i = 0; i < n; i++) {
        let a = z[zb + i];
        const row = i * n;
        for (let j = 0; j < n; j++) a += W[row + j] * h[hb + j];
        acc[i] = a;
      }
      rescaleRow(acc, n, model.stateRescale, next, hb, relu ? 0 : qmin, qmax);
    }
    [h, next] = [next, h];
    if (model.readout === 'many-to-many' || t === T - 1) {
      const k = model.readout === 'last' ? 0 : t;
      readoutInteger(h, B, n, model.V, model.cLogit, model.readoutActivation === 'relu', 0, logits, k * B * O);
    }
  }
  state?.h.set(h);
  return { logits, logitScales, T, B, engine: 'js' };
}
