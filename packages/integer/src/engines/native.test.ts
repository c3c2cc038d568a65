/**
 * The native integer engines (@orthoquant/kernels, native/integer.cc) against the JS engines of
 * this folder: equal logits, logit scales and carried states, bit for bit, on random models in
 * every configuration the engine tests use (block sizes, activations, readouts, 6–16-bit
 * activations, 8- and 16-bit weights, saturating and blank inputs, carried states), on both
 * native builds when there are two.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomHadamRnn, randomInputs, randomOrnn } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import type { FloatModel, IntegerModel } from '../model.js';
import { inputCodes, quantizeInputs } from './common.js';
import type { IntegerOutput } from './common.js';
import { initialState, runIntegerCodes } from './run.js';
import { integerEngineInfo, setIntegerEngine } from './native.js';

const native = integerEngineInfo().engine === 'native';

interface Case {
  label: string;
  float: FloatModel;
  actBits: number;
  weightBits?: number;
  T?: number;
  B?: number;
}

const CASES: Case[] = [
  // hadamrnn.test.ts (bit-exact cases) and engines.test.ts
  { label: 'hadam n16 m16 linear m2m 8b', float: randomHadamRnn({ n: 16, blockSize: 16, activation: 'linear', readout: 'many-to-many', seed: 'n/0' }), actBits: 8 },
  { label: 'hadam n32 m8 relu m2m 6b', float: randomHadamRnn({ n: 32, blockSize: 8, activation: 'relu', readout: 'many-to-many', seed: 'n/1' }), actBits: 6 },
  { label: 'hadam n32 m32 linear last 12b', float: randomHadamRnn({ n: 32, blockSize: 32, activation: 'linear', readout: 'last', seed: 'n/2' }), actBits: 12 },
  { label: 'hadam n64 m4 relu last 16b', float: randomHadamRnn({ n: 64, blockSize: 4, activation: 'relu', readout: 'last', seed: 'n/3' }), actBits: 16 },
  { label: 'hadam n8 m2 linear m2m 10b', float: randomHadamRnn({ n: 8, blockSize: 2, activation: 'linear', readout: 'many-to-many', seed: 'n/4' }), actBits: 10 },
  { label: 'hadam n12 m4 relu m2m 8b (n not a multiple of 8)', float: randomHadamRnn({ n: 12, blockSize: 4, activation: 'relu', seed: 'n/5' }), actBits: 8 },
  { label: 'hadam n128 m128 linear m2m 12b 4-bit U/V (the bench model)', float: { ...randomHadamRnn({ n: 128, inputSize: 10, outputSize: 9, seed: 'n/6' }), bits: { U: 4, V: 4 } }, actBits: 12, T: 30, B: 4 },
  { label: 'hadam n64 m64 linear m2m 16b 16-bit V (wide readout)', float: randomHadamRnn({ n: 64, seed: 'n/7' }), actBits: 16, weightBits: 16 },
  { label: 'hadam n32768 m32768 relu 16b (no headroom: the remainder-test rounding)', float: randomHadamRnn({ n: 32768, activation: 'relu', seed: 'n/8' }), actBits: 16, T: 6, B: 2 },
  { label: 'hadam n32 m8 16b (entry)', float: randomHadamRnn({ n: 32, blockSize: 8, seed: 'entry' }), actBits: 16 },
  // engines.test.ts (dense ORNN)
  ...[6, 8, 12, 16].flatMap((bits) => [
    { label: `ornn n16 linear m2m ${bits}b`, float: randomOrnn({ n: 16, activation: 'linear', readout: 'many-to-many', seed: 'ornn/0' }), actBits: bits },
    { label: `ornn n24 relu last ${bits}b`, float: randomOrnn({ n: 24, activation: 'relu', readout: 'last', seed: 'ornn/1' }), actBits: bits },
  ]),
  { label: 'ornn n40 relu m2m 16b 16-bit W (int64 recurrence)', float: randomOrnn({ n: 40, activation: 'relu', seed: 'ornn/2' }), actBits: 16, weightBits: 16 },
  { label: 'ornn n128 linear m2m 12b (the bench model)', float: randomOrnn({ n: 128, inputSize: 10, outputSize: 9, seed: 'ornn/3' }), actBits: 12, T: 20, B: 4 },
];

function run(model: IntegerModel, xq: Int32Array, T: number, B: number, engine: 'native' | 'js', halves: boolean): { out: IntegerOutput[]; state: Int32Array; phase?: number } {
  setIntegerEngine(engine);
  const state = initialState(model, B);
  const D = model.inputSize;
  const out = halves
    ? [runIntegerCodes(model, xq.subarray(0, 5 * B * D), 5, B, { state }), runIntegerCodes(model, xq.subarray(5 * B * D), T - 5, B, { state })]
    : [runIntegerCodes(model, xq, T, B)];
  for (const o of out) if (model.kind !== 'lstm') assert.equal(o.engine, engine);
  return { out, state: state.h, phase: state.phase };
}

describe('native integer engines equal the JS engines bit for bit', { skip: native ? false : 'native kernels not built' }, () => {
  after(() => setIntegerEngine(null));
  for (const c of CASES) {
    it(c.label, () => {
      const T = c.T ?? 40;
      const B = c.B ?? 3;
      const D = c.float.inputSize;
      const x = randomInputs(T, B, D, `${c.label}/x`);
      const model = exportInteger(c.float, calibrate(c.float, [{ inputs: x, T, B }]), { actBits: c.actBits, weightBits: c.weightBits });
      // Scale up (some codes saturate), blank every third row (bias-only projection), and make
      // some rows one-hot (the cached single-input projection).
      const xs = x.map((v, k) => {
        const row = Math.floor(k / D);
        if (row % 3 === 0) return 0;
        if (row % 3 === 1) return k % D === row % D ? 1 : 0;
        return v * 1.5;
      });
      const xq = quantizeInputs(model, xs, T, B);
      for (const halves of [false, true]) {
        const js = run(model, xq, T, B, 'js', halves);
        const nat = run(model, xq, T, B, 'native', halves);
        js.out.forEach((o, i) => {
          assert.deepEqual(nat.out[i].logits, o.logits, `${c.label}: logits (part ${i})`);
          assert.deepEqual(nat.out[i].logitScales, o.logitScales, `${c.label}: logit scales`);
        });
        assert.ok(js.out[0].logits.some((v) => v !== 0), `${c.label}: non-trivial logits`);
        if (halves) {
          assert.deepEqual(nat.state, js.state, `${c.label}: carried state`);
          assert.equal(nat.phase, js.phase, `${c.label}: phase`);
        }
      }
    });
  }

  it('input quantization: the native loop equals the JS one (ties to even, saturation, NaN, ±∞)', () => {
    const special = [0, -0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1e-9, -1e-9, 127.5, 128.5, -128.5, -129.5, 1e9, -1e9, NaN, Infinity, -Infinity, 3.4e38, 1.0000001, 0.49999997];
    // x / scale at or next to a half-integer for scales that are not powers of two: the native
    // loop multiplies by 1 / scale and must divide (as JS does) wherever that could round apart
    // (x · (1/1.1) and x / 1.1 round to different codes at 282 of the 1.1 ties, 110 of the 0.7).
    const ties = Array.from({ length: 4000 }, (_, i) => i - 2000.5).flatMap((k) => [k * 3, k * 0.1, k * 0.7, k * 1.1]);
    const x = Float32Array.from([...special, ...ties, ...randomInputs(50, 4, 5, 'quantize', 40)]);
    for (const [scale, zp, bits] of [[1, 0, 8], [0.5, 3, 8], [0.1, -7, 12], [2 ** -10, 0, 16], [3, 1, 2], [3, 0, 12], [0.7, 0, 13], [1.1, 0, 13], [0.1, 0, 16]] as const) {
      const m = { actBits: bits, inputScale: scale, inputZeroPoint: zp };
      setIntegerEngine('js');
      const js = inputCodes(m, x);
      setIntegerEngine('native');
      assert.deepEqual(inputCodes(m, x), js, `scale ${scale}, zero point ${zp}, ${bits} bits`);
    }
  });

  it('a state outside [qmin, qmax] runs in JS (the native engines take only in-range states)', () => {
    const float = randomHadamRnn({ n: 16, seed: 'range' });
    const x = randomInputs(6, 2, 3, 'range/x');
    const model = exportInteger(float, calibrate(float, [{ inputs: x, T: 6, B: 2 }]), { actBits: 6 });
    setIntegerEngine('auto');
    const state = { h: new Int32Array(32).fill(1000), phase: 0 as const };
    assert.equal(runIntegerCodes(model, quantizeInputs(model, x, 6, 2), 6, 2, { state }).engine, 'js');
  });

  it('ORTHOQUANT_INTEGER_ENGINE chooses, and a bad value is named', () => {
    setIntegerEngine(null);
    const probe = (v: string) =>
      spawnSync(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', '-e', "import('./src/engines/native.ts').then((m) => console.log(JSON.stringify(m.integerEngineInfo())))"], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', env: { ...process.env, ORTHOQUANT_INTEGER_ENGINE: v },
      });
    assert.equal(JSON.parse(probe('js').stdout.trim()).engine, 'js');
    assert.equal(JSON.parse(probe('native').stdout.trim()).engine, 'native');
    assert.match(probe('fast').stderr, /ORTHOQUANT_INTEGER_ENGINE: expected one of auto\|native\|js, got 'fast'/);
    assert.throws(() => setIntegerEngine('fast' as 'js'), /setIntegerEngine: expected auto\|native\|js or null, got 'fast'/);
  });
});
