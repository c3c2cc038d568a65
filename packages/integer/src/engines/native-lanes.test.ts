/**
 * The native integer HadamRNN's two lane widths (native/integer.cc): a row's step runs on 16
 * int16 lanes when m·2^(b−1) + max|z| + the rounding bias fits int16, else on 8 int32 lanes.
 * Both must give the JS engine's logits and states bit for bit: random models at the papers'
 * activation widths (6, 8, 10, 12 bits) and blocks that fit a register chunk or not, and a
 * hand-built model whose step reaches exactly the int16 limit (and one past it). Each case also
 * checks which path ran (`int16Steps`), so a wrong bound or a path never taken fails here; the
 * int32 step's int16 prefix (b ≤ 12) is driven to its extreme sums.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomHadamRnn, randomInputs } from '../testing.js';
import { calibrate } from '../ptq/calibrate.js';
import { exportInteger } from '../ptq/export.js';
import type { FloatHadamRnn, IntegerHadamRnn } from '../model.js';
import { quantizeInputs } from './common.js';
import type { IntegerOutput } from './common.js';
import { runIntegerCodes } from './run.js';
import { integerEngineInfo, setIntegerEngine } from './native.js';

const native = integerEngineInfo().engine === 'native';

/** The largest max|z| of a row the int16 step takes at this phase's shift (−1: none). */
function zlim16(m: number, bits: number, shift: number, n: number): number {
  const need = m * 2 ** (bits - 1) + (shift > 0 ? 2 ** (shift - 1) : 0);
  return n % 16 === 0 && shift <= 14 && need <= 32767 ? 32767 - need : -1;
}

function both(model: IntegerHadamRnn, xq: Int32Array, T: number, B: number, h0?: Int32Array): { js: IntegerOutput; nat: IntegerOutput; hJs: Int32Array; hNat: Int32Array } {
  const hJs = h0 ? h0.slice() : new Int32Array(B * model.n);
  const hNat = h0 ? h0.slice() : new Int32Array(B * model.n);
  setIntegerEngine('js');
  const js = runIntegerCodes(model, xq, T, B, { state: { h: hJs, phase: 0 } });
  setIntegerEngine('native');
  const nat = runIntegerCodes(model, xq, T, B, { state: { h: hNat, phase: 0 } });
  assert.equal(js.engine, 'js');
  assert.equal(nat.engine, 'native');
  return { js, nat, hJs, hNat };
}

describe('native integer HadamRNN: int16 and int32 lanes equal the JS engine bit for bit', { skip: native ? false : 'native kernels not built' }, () => {
  after(() => setIntegerEngine(null));

  // [n, m]: whole blocks in one register chunk (int16: ≤ 128, int32: ≤ 64 values), blocks
  // larger than a chunk (passes, last stage fused with the tail), blocks below one vector.
  const shapes: [number, number][] = [[128, 128], [256, 256], [64, 16], [32, 4], [48, 8]];
  for (const bits of [6, 8, 10, 12]) {
    for (const [n, m] of shapes) {
      for (const [readout, activation, readoutActivation] of [['many-to-many', 'linear', 'relu'], ['last', 'relu', 'linear']] as const) {
        it(`${bits}-bit activations, n=${n} m=${m}, ${readout}, ${activation} recurrence, ${readoutActivation} readout`, () => {
          const T = 12;
          const B = 3;
          const D = 5;
          const float: FloatHadamRnn = { ...randomHadamRnn({ n, blockSize: m, inputSize: D, outputSize: 9, readout, activation, seed: `lanes/${n}/${m}/${readout}` }), readoutActivation, bits: { U: 4, V: 4 } };
          const x = randomInputs(T, B, D, `lanes/x/${n}`);
          const model = exportInteger(float, calibrate(float, [{ inputs: x, T, B }]), { actBits: bits }) as IntegerHadamRnn;
          // Saturating rows, blank rows (bias only) and one-hot rows (the cached projections).
          const xs = x.map((v, k) => (Math.floor(k / D) % 3 === 0 ? 0 : Math.floor(k / D) % 3 === 1 ? (k % D === 1 ? 1 : 0) : v * 1.5));
          const xq = quantizeInputs(model, xs, T, B);
          const { js, nat, hJs, hNat } = both(model, xq, T, B);
          assert.deepEqual(nat.logits, js.logits, 'logits');
          assert.deepEqual(hNat, hJs, 'final state');
          assert.ok(js.logits.some((v) => v !== 0), 'non-trivial logits');
          const possible = model.stepShifts.some((s) => zlim16(m, bits, s, n) >= 0);
          if (!possible) assert.equal(nat.int16Steps, 0, 'm·2^(b−1) alone exceeds int16: every step on int32 lanes');
          else assert.ok(nat.int16Steps! > 0, `the int16 step should run at ${bits} bits, n=${n}, m=${m}`);
          assert.ok(nat.int16Steps! <= T * B);
        });
      }
    }
  }

  /**
   * n = m = 16, 11-bit codes, shift 2 (√16 = 4): m·2^(b−1) = 16384, so rows with max|z| ≤
   * 32767 − 16384 − 2 = 16381 take the int16 step. The state starts at qmin everywhere and
   * sign₀ = −1, so a₀ = −16384 flips to +16384 and v₀ = z₀ + 16384 (+ 2 rounding bias) reaches
   * 32767 exactly at z₀ = 16381 — one more would wrap in int16 (and clamp to qmin instead of qmax).
   */
  function edgeModel(z0: number, bits = 11): IntegerHadamRnn {
    const n = 16;
    const O = 2;
    const signs = Int8Array.from({ length: n }, (_, j) => (j === 0 ? -1 : 1));
    const bInput = Int32Array.from({ length: n }, (_, j) => (j === 0 ? z0 : j - 8));
    const identity = { multiplier: 2 ** 30, shift: 1 }; // multiplyByQuantizedMultiplier(x) = x
    return {
      kind: 'hadamrnn', n, inputSize: 1, outputSize: O, readout: 'many-to-many', actBits: bits, inputScale: 1, inputZeroPoint: 0,
      activation: 'linear', readoutActivation: 'linear', signs, blockSize: n, stateScales: [1, 1], stepShifts: [2, 2],
      U: { codes: new Int32Array(n), shape: [1, n], bits: 4, scale: 1, zeroPoint: 0 }, bInput, inputRescale: [identity, identity],
      V: { codes: Int32Array.from({ length: n * O }, (_, k) => (k % 3) - 1), shape: [n, O], bits: 4, scale: 1, zeroPoint: 0 }, cLogit: [new Int32Array(O), new Int32Array(O)],
    };
  }

  for (const [z0, lanes] of [[16381, 'int16'], [16382, 'int32'], [-16381, 'int16'], [-16382, 'int32']] as const) {
    it(`the int16 limit: max|z| = ${Math.abs(z0)} (z₀ = ${z0}) runs on ${lanes} lanes, with the same codes as JS`, () => {
      const T = 3;
      const B = 2;
      const model = edgeModel(z0);
      const qmin = -(2 ** 10);
      const { js, nat, hJs, hNat } = both(model, new Int32Array(T * B), T, B, new Int32Array(B * 16).fill(qmin));
      assert.deepEqual(nat.logits, js.logits, 'logits');
      assert.deepEqual(hNat, hJs, 'final state');
      assert.equal(nat.int16Steps, lanes === 'int16' ? T * B : 0);
    });
  }

  it('the extreme step itself: v₀ = 32767 before the shift gives qmax, not a wrapped qmin', () => {
    const model = edgeModel(16381);
    setIntegerEngine('native');
    const h = new Int32Array(16).fill(-(2 ** 10));
    const out = runIntegerCodes(model, new Int32Array(1), 1, 1, { state: { h, phase: 0 } });
    assert.equal(out.int16Steps, 1);
    assert.equal(h[0], 2 ** 10 - 1, '(16381 + 16384 + 2) >> 2 = 8191, clamped to qmax = 1023');
  });

  /**
   * The int32 step's int16 stages at their extremes: the prefix (b ≤ 12: strides 1, 2, 4, 8 on
   * int16 lanes before widening) and the int16 body (m ≥ 64 with (m/2)·2^(b−1) ≤ 32768: every
   * stage but the last on int16 lanes; 10 bits at m = 64, 128, 11 bits at m = 64 — the latter two
   * at the limit). Every code qmin (the all-plus row sums to −32768 exactly), every code qmax, and
   * qmax/qmin in the patterns of Hadamard rows (balanced sums), at 10–13 bits, blocks in one chunk
   * (m = 16, 64) and larger (m = 128, 256), linear and ReLU recurrences.
   */
  function extremeModel(n: number, bits: number, activation: 'linear' | 'relu'): IntegerHadamRnn {
    const O = 3;
    const signs = Int8Array.from({ length: n }, (_, j) => ((j * 7) % 5 < 2 ? -1 : 1));
    const bInput = Int32Array.from({ length: n }, (_, j) => ((j * 37) % 101) - 50);
    const identity = { multiplier: 2 ** 30, shift: 1 };
    return {
      kind: 'hadamrnn', n, inputSize: 1, outputSize: O, readout: 'many-to-many', actBits: bits, inputScale: 1, inputZeroPoint: 0,
      activation, readoutActivation: 'linear', signs, blockSize: n, stateScales: [1, 1], stepShifts: [4, 3],
      U: { codes: new Int32Array(n), shape: [1, n], bits: 4, scale: 1, zeroPoint: 0 }, bInput, inputRescale: [identity, identity],
      V: { codes: Int32Array.from({ length: n * O }, (_, k) => (k % 3) - 1), shape: [n, O], bits: 4, scale: 1, zeroPoint: 0 }, cLogit: [new Int32Array(O), new Int32Array(O)],
    };
  }
  for (const bits of [10, 11, 12, 13]) {
    for (const n of [16, 64, 128, 256]) {
      for (const activation of ['linear', 'relu'] as const) {
        it(`int16 stages of the int32 step at their extremes: ${bits} bits, n = m = ${n}, ${activation}`, () => {
          const model = extremeModel(n, bits, activation);
          const qmin = -(2 ** (bits - 1));
          const qmax = 2 ** (bits - 1) - 1;
          const rows = [() => qmin, () => qmax, (j: number) => (j % 2 === 0 ? qmax : qmin), (j: number) => (j % 2 === 0 ? qmin : qmax), (j: number) => (j % 16 < 8 ? qmax : qmin)];
          const B = rows.length;
          const h0 = new Int32Array(B * n);
          rows.forEach((f, b) => {
            for (let j = 0; j < n; j++) h0[b * n + j] = f(j);
          });
          // One step from the extreme states (their first transform is the extreme one), then more.
          for (const T of [1, 5]) {
            const { js, nat, hJs, hNat } = both(model, new Int32Array(T * B), T, B, h0);
            assert.deepEqual(nat.logits, js.logits, `logits, T = ${T}`);
            assert.deepEqual(hNat, hJs, `final state, T = ${T}`);
            if (model.stepShifts.every((sh) => zlim16(n, bits, sh, n) < 0)) assert.equal(nat.int16Steps, 0, 'm·2^(b−1) > 32767: not the all-int16 step');
          }
        });
      }
    }
  }

  it('m·2^(b−1) > 32767 (12 bits, m = 16) never takes the int16 step, whatever z', () => {
    const model = edgeModel(0, 12);
    const T = 4;
    const B = 2;
    const { js, nat } = both(model, new Int32Array(T * B), T, B, new Int32Array(B * 16).fill(-(2 ** 11)));
    assert.deepEqual(nat.logits, js.logits);
    assert.equal(nat.int16Steps, 0);
  });
});
