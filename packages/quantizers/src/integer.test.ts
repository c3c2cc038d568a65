import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { fromIntegerCodes, integerArrayFor, toIntegerCodes, uniformCodes } from './integer.js';
import { quantizeUniform, quantizeUniformArray, uniformStep } from './uniform.js';
import { affineParams, quantizeAffineArray } from './affine.js';
import { expectBitsEqual, readF32 } from './testing.js';

describe('integer export', () => {
  before(async () => {
    await testBackend();
  });

  it('stores codes in the smallest signed array that fits', () => {
    assert.ok(integerArrayFor(1, 1) instanceof Int8Array);
    assert.ok(integerArrayFor(8, 1) instanceof Int8Array);
    assert.ok(integerArrayFor(9, 1) instanceof Int16Array);
    assert.ok(integerArrayFor(16, 1) instanceof Int16Array);
    assert.ok(integerArrayFor(17, 1) instanceof Int32Array);
    assert.ok(integerArrayFor(32, 1) instanceof Int32Array);
    assert.throws(() => integerArrayFor(33, 1), /integerArrayFor: bits must be an integer in 1\.\.32, got 33/);
  });

  it('dequantized codes equal the uniform quantizer (tensor and twin) bit for bit, 1..16 bits', () => {
    const rng = createRng(11);
    for (const bits of [1, 2, 3, 4, 5, 6, 8, 10, 12, 16]) {
      for (const scale of ['max', { percentile: 99 }, 0.8] as const) {
        const w = rng.normalArray(3000, 0.5);
        const ic = uniformCodes(w, { bits, scale });
        assert.equal(ic.zeroPoint, 0);
        assert.equal(ic.bits, bits);
        const back = fromIntegerCodes(ic);
        expectBitsEqual(back, quantizeUniformArray(w, { bits, scale }), `${bits} bits, ${JSON.stringify(scale)}: vs twin`);
        const t = tf.tidy(() => readF32(quantizeUniform(tf.tensor1d(w), { bits, scale })));
        expectBitsEqual(back, t, `${bits} bits, ${JSON.stringify(scale)}: vs tensor`);
        // Codes are the integers round(w/Δ) clamped: inside the range.
        for (const c of ic.codes) assert.ok(c >= -(2 ** (bits - 1)) && c <= 2 ** (bits - 1) - 1, `code ${c} out of range`);
        // And quantizing the dequantized values gives the same codes back.
        assert.deepEqual(Array.from(toIntegerCodes(back, ic).codes), Array.from(ic.codes), `${bits} bits: codes round trip`);
      }
    }
  });

  it('4-bit symmetric example: codes, scale and values', () => {
    const w = new Float32Array([2, -2, 0.3, -0.3, 0.125, 0.375]);
    const ic = uniformCodes(w, { bits: 4 });
    assert.ok(ic.codes instanceof Int8Array);
    assert.deepEqual(Array.from(ic.codes), [7, -8, 1, -1, 0, 2]);
    assert.equal(ic.scale, uniformStep(2, 4));
    assert.deepEqual(Array.from(fromIntegerCodes(ic)), [1.75, -2, 0.25, -0.25, 0, 0.5]);
  });

  it('affine round trip equals quantizeAffineArray bit for bit (int8 activations)', () => {
    const rng = createRng(12);
    const x = rng.uniformArray(5000, -1.5, 4);
    for (const bits of [4, 8, 12]) {
      const p = affineParams(-1, 3, bits);
      const ic = toIntegerCodes(x, p);
      expectBitsEqual(fromIntegerCodes(ic), quantizeAffineArray(x, p), `${bits} bits`);
      assert.equal(ic.zeroPoint, p.zeroPoint);
    }
  });

  it('32-bit codes (biases) in an Int32Array', () => {
    const ic = toIntegerCodes(new Float32Array([1e-3, -2.5e-4, 12]), { bits: 32, scale: 2 ** -20 });
    assert.ok(ic.codes instanceof Int32Array);
    assert.deepEqual(Array.from(ic.codes), [1049, -262, 12 * 2 ** 20]);
  });

  it('scale 0 maps everything to the zero point and back to +0', () => {
    const ic = toIntegerCodes(new Float32Array([1, -1]), { bits: 8, scale: 0, zeroPoint: 3 });
    assert.deepEqual(Array.from(ic.codes), [3, 3]);
    expectBitsEqual(fromIntegerCodes(ic), new Float32Array(2), 'dequantized');
    expectBitsEqual(fromIntegerCodes(uniformCodes(new Float32Array(4), { bits: 4 })), new Float32Array(4), 'zero tensor');
  });

  it('validates its options', () => {
    const x = new Float32Array(2);
    assert.throws(() => toIntegerCodes(x, { bits: 0, scale: 1 }), /toIntegerCodes: bits must be an integer in 1\.\.32, got 0/);
    assert.throws(() => toIntegerCodes(x, { bits: 8, scale: -1 }), /toIntegerCodes: scale must be a finite number ≥ 0, got -1/);
    assert.throws(() => toIntegerCodes(x, { bits: 4, scale: 1, zeroPoint: 8 }), /toIntegerCodes: zeroPoint must be an integer in -8\.\.7, got 8/);
    assert.throws(() => uniformCodes(x, { bits: 4, axis: 0 }), /uniformCodes: per-channel \(axis\) export is not supported/);
  });
});
