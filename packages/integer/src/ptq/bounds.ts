/**
 * A priori error bounds of the integer HadamRNN against the float model with the same
 * (dequantized) weights and inputs on the input grid.
 *
 * With e_t = ĥ_t − h_t (ĥ the dequantized integer state): e_t = W e_{t−1} + δ_t (σ linear; a
 * ReLU is 1-Lipschitz and keeps the bound), W orthogonal, so ‖e_t‖₂ ≤ Σ_k ‖δ_k‖₂ ≤ (t+1)·√n·δ∞,
 * where one step's error per entry is at most
 * - σ_max/2: rounding the state to its grid (σ_max = max of the two phase scales);
 * - σ_max/√m · (1 + 2^−30·|z|/unit) ≤ σ_max/√m + 2^−29·z_max: the input term rounded to the
 *   recurrent accumulator unit σ/√m by the fixed-point multiplier (itself within 2^−31);
 * - s_U·s_x/2: the bias rounded to the input accumulator unit.
 * Saturation is excluded (the calibrated range must hold the float trajectory).
 * A logit then differs by at most ‖V_{:,o}‖₂·‖e_t‖₂ + s_V·σ/2 (the bias c rounded).
 */
import type { IntegerHadamRnn } from '../model.js';

export interface HadamRnnBound {
  /** Per-entry error of one step, δ∞. */
  stepError: number;
  /** Bound on ‖e_t‖₂ after `steps` steps. */
  state: number;
  /** Bound on |Δ logit| for each output (after `steps` steps). */
  logits: Float64Array;
}

/** `maxInput`: max |x − zp| of the input codes times inputScale (the largest real input). */
export function hadamRnnErrorBound(model: IntegerHadamRnn, steps: number, maxInput: number): HadamRnnBound {
  const { n, inputSize: D, blockSize: m } = model;
  const sigma = Math.max(...model.stateScales);
  const inScale = model.U.scale * model.inputScale;
  let zmax = 0;
  for (let j = 0; j < n; j++) {
    let s = Math.abs(model.bInput[j]) * inScale + inScale / 2;
    for (let d = 0; d < D; d++) s += Math.abs(model.U.codes[d * n + j]) * model.U.scale * maxInput;
    zmax = Math.max(zmax, s);
  }
  let stepError = sigma / 2 + sigma / Math.sqrt(m) + zmax * 2 ** -29 + inScale / 2;
  // Orders p·2^k: W is scaled by C·√m/2^F instead of 1 (|(H q)_i|/√m ≤ √m·2^{b−1} codes), and
  // each set bit of C floors one term (at most one unit of 2^−G codes each).
  if (model.stepMultiplier !== undefined) {
    const scaleError = Math.abs((model.stepMultiplier * Math.sqrt(m)) / 2 ** model.multiplierShift! - 1);
    const terms = model.stepMultiplier.toString(2).replace(/0/g, '').length;
    stepError += (scaleError * Math.sqrt(m) * 2 ** (model.actBits - 1) + terms * 2 ** -model.stepShifts[0]) * sigma;
  }
  const state = steps * Math.sqrt(n) * stepError;
  const O = model.outputSize;
  const logits = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let norm = 0;
    for (let j = 0; j < n; j++) norm += (model.V.codes[j * O + o] * model.V.scale) ** 2;
    logits[o] = Math.sqrt(norm) * state + (model.V.scale * sigma) / 2;
  }
  return { stepError, state, logits };
}
