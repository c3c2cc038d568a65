// What the HadamRNN engine tests (orders 2^k and p·2^k) share.
import assert from 'node:assert/strict';
import { randomHadamRnn, randomInputs } from '../testing.js';
import type { RandomModelOptions } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import { simulateHadamRnn } from '../simulate/hadamrnn.js';
import type { FloatHadamRnn, IntegerHadamRnn } from '../model.js';
import { quantizeInputs } from '../engines/common.js';
import { runHadamRnn } from '../engines/hadamrnn.js';

export function integerHadam(float: FloatHadamRnn, actBits: number, inputs: Float32Array, T: number, B: number): IntegerHadamRnn {
  return exportInteger(float, calibrate(float, [{ inputs, T, B }]), { actBits }) as IntegerHadamRnn;
}

/**
 * For each case (a random model of its sizes, calibrated at `bits`): the integer engine equals
 * the Float64 simulation bit for bit, logits and their scales, on inputs scaled up so that some
 * codes saturate and with every third row blank (the cached bias-only projection). Seeds are
 * `${prefix}bitexact/i` and `${prefix}x/i`; `check` sees each exported model.
 */
export function assertEngineMatchesSimulation(cases: readonly (RandomModelOptions & { bits: number })[], prefix: string, check?: (model: IntegerHadamRnn, i: number) => void): void {
  for (const [i, c] of cases.entries()) {
    const float = randomHadamRnn({ ...c, seed: `${prefix}bitexact/${i}`, inputSize: 3 });
    const T = 40;
    const B = 3;
    const x = randomInputs(T, B, 3, `${prefix}x/${i}`);
    const model = integerHadam(float, c.bits, x, T, B);
    check?.(model, i);
    const xs = x.map((v, k) => (Math.floor(k / 3) % 3 === 0 ? 0 : v * 1.5));
    const xq = quantizeInputs(model, xs, T, B);
    const fast = runHadamRnn(model, xq, T, B);
    const sim = simulateHadamRnn(model, xq, T, B);
    assert.deepEqual(Array.from(fast.logits), Array.from(sim.logits), `case ${i}`);
    assert.deepEqual(Array.from(fast.logitScales), Array.from(sim.logitScales), `case ${i}`);
    assert.ok(fast.logits.some((v) => v !== 0), `case ${i}: non-trivial logits`);
  }
}
