import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { createCalibrator, nextPowerOfTwo } from './calibration.js';
import { absPercentile } from './percentile.js';
import { affineParams } from './affine.js';

describe('activation calibration', () => {
  before(async () => {
    await testBackend();
  });

  it('nextPowerOfTwo is the smallest 2^e ≥ v', () => {
    const cases: [number, number][] = [
      [1, 1],
      [1.0000001, 2],
      [3, 4],
      [4, 4],
      [0.3, 0.5],
      [0.25, 0.25],
      [1e-9, 2 ** -29],
      [1000, 1024],
      [0, 0],
    ];
    for (const [v, want] of cases) assert.equal(nextPowerOfTwo(v), want, `nextPowerOfTwo(${v})`);
    for (let e = -40; e <= 40; e++) {
      assert.equal(nextPowerOfTwo(2 ** e), 2 ** e);
      assert.equal(nextPowerOfTwo(2 ** e * (1 + 2 ** -40)), 2 ** (e + 1));
    }
    assert.throws(() => nextPowerOfTwo(-1), /nextPowerOfTwo: expected a finite number ≥ 0, got -1/);
  });

  it('streams batches whose range grows and keeps exact min, max, max|x| and count', () => {
    const rng = createRng(3);
    const cal = createCalibrator({ bins: 1024 });
    const all: number[] = [];
    // Batches of growing spread: the histogram range must double several times.
    for (const std of [0.01, 0.1, 0.5, 2, 1, 7, 0.3]) {
      const b = rng.normalArray(4000, std);
      cal.observe(b);
      all.push(...b);
    }
    const absMax = Math.max(...all.map(Math.abs));
    assert.equal(cal.count, all.length);
    assert.equal(cal.min, Math.min(...all));
    assert.equal(cal.max, Math.max(...all));
    assert.equal(cal.maxAbs, absMax);
    assert.equal(cal.histogramRange, nextPowerOfTwo(absMax));
    assert.equal(cal.percentile(100), absMax);
    const width = cal.histogramRange / cal.bins;
    for (const p of [1, 10, 50, 90, 99, 99.9, 99.99]) {
      const exact = absPercentile(all, p);
      const est = cal.percentile(p);
      assert.ok(est >= exact && est <= exact + width, `p${p}: estimate ${est}, exact ${exact}, bin width ${width}`);
    }
  });

  it('the percentile from merged bins equals the one from a calibrator that saw the full range first', () => {
    const rng = createRng(4);
    const small = rng.normalArray(3000, 0.2);
    const large = rng.normalArray(3000, 5);
    const a = createCalibrator({ bins: 256 }).observe(small).observe(large);
    const b = createCalibrator({ bins: 256 }).observe(large).observe(small);
    for (const p of [5, 50, 95, 99]) assert.equal(a.percentile(p), b.percentile(p), `p${p}`);
  });

  it('powerOfTwoRange and the b_a-bit scale (QORNN)', () => {
    const cal = createCalibrator().observe(new Float32Array([0.1, -2.7, 1.3, 0.05]));
    assert.equal(cal.powerOfTwoRange(), 4);
    assert.deepEqual(cal.symmetricScale(8), { bits: 8, alpha: 4, step: 4 / 128 });
    assert.deepEqual(cal.symmetricScale(6, { percentile: 50 }), { bits: 6, alpha: 0.125, step: 0.125 / 32 });
    assert.deepEqual(cal.affineParams(8), affineParams(-2.7, 1.3, 8));
  });

  it('observes tensors without disposing or leaking them', async () => {
    const x = tf.tensor2d([[1, -3], [0.5, 2]]);
    const cal = createCalibrator();
    await expectNoLeaks(() => cal.observe(x), 'observe');
    assert.equal(cal.maxAbs, 3);
    assert.equal(x.isDisposed, false);
    x.dispose();
  });

  it('zeros: range 0 until a nonzero arrives, then zeros stay in the lowest bin', () => {
    const cal = createCalibrator({ bins: 16 }).observe(new Float32Array(8));
    assert.equal(cal.powerOfTwoRange(), 0);
    assert.equal(cal.percentile(50), 0);
    cal.observe([3, 3]);
    assert.equal(cal.histogramRange, 4);
    assert.equal(cal.percentile(80), 0.25); // 8 of 10 values are 0: upper edge of bin 0
    assert.equal(cal.percentile(90), 3);
  });

  it('refuses bad input with clear messages', () => {
    const cal = createCalibrator();
    assert.throws(() => cal.percentile(50), /calibrator\.percentile: no values observed yet/);
    assert.throws(() => cal.powerOfTwoRange(), /calibrator\.statistic: no values observed yet/);
    assert.throws(() => cal.observe([1, NaN]), /calibrator\.observe: non-finite value NaN at index 1/);
    assert.throws(() => createCalibrator({ bins: 1000 }), /calibrator: bins must be a power of two in 16\.\.2\^24, got 1000/);
    cal.observe([1]);
    assert.throws(() => cal.percentile(0), /calibrator\.percentile: percentile must be a number in \(0, 100\], got 0/);
    assert.throws(() => cal.statistic('mean' as never), /calibrator\.statistic: expected 'max' or \{ percentile: p \}, got "mean"/);
  });
});
