import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { makeQuantizer, parseWeightQuantizer } from './config.js';
import type { Quantizer, WeightQuantizerConfig } from './config.js';
import { quantizeUniformArray } from './uniform.js';
import { binarizeArray, ternaryArray } from './binary.js';
import { binarizeSubject, expectBitsEqual, quantizerContract, readF32, ternarySubject, uniformSubject } from './testing.js';
import type { QuantizerSubject } from './testing.js';

/** The factory's quantizer, judged against the grid of the quantizer it should be. */
function viaFactory(cfg: WeightQuantizerConfig, reference: QuantizerSubject): QuantizerSubject {
  const q: Quantizer = makeQuantizer(cfg);
  return { ...reference, apply: (w) => q(w), applyArray: (w, shape) => q.applyArray(w, shape) };
}

quantizerContract('makeQuantizer uniform 4-bit (papers’ default)', () => viaFactory({ kind: 'uniform', bits: 4 }, uniformSubject({ bits: 4 })), {
  skip: { idempotent: 'α = max|w| shrinks when the largest |w| is positive' },
});
quantizerContract('makeQuantizer uniform 3-bit per channel, clipped', () => viaFactory({ kind: 'uniform', bits: 3, perChannel: true, ste: 'clipped' }, uniformSubject({ bits: 3, axis: 0, ste: 'clipped' })), {
  skip: { idempotent: 'α = max|w| per row shrinks when a row’s largest |w| is positive' },
});
quantizerContract('makeQuantizer binary α = mean', () => viaFactory({ kind: 'binary', scale: 'mean' }, binarizeSubject({ scale: 'mean' })));
quantizerContract('makeQuantizer ternary 0.5·max, α = max', () => viaFactory({ kind: 'ternary', threshold: 0.5, scale: 'max' }, ternarySubject({ threshold: 0.5, scale: 'max' })));

describe('weight quantizer config and factory', () => {
  before(async () => {
    await testBackend();
  });

  it('builds each kind, equal to the direct function, with bits per weight and a description', async () => {
    const w = createRng(8).normalArray(48);
    const cases: [WeightQuantizerConfig, Float32Array, number, string][] = [
      [{ kind: 'none' }, w, 32, 'none (float32)'],
      [{ kind: 'uniform', bits: 4 }, quantizeUniformArray(w, { bits: 4 }), 4, 'uniform 4-bit, α = max|w|, identity STE, per tensor'],
      [{ kind: 'uniform', bits: 6, scale: { percentile: 99 }, ste: 'clipped', perChannel: { axis: 1 } }, quantizeUniformArray(w, { bits: 6, scale: { percentile: 99 }, axis: 1 }, [6, 8]), 6, 'uniform 6-bit, α = p99(|w|), clipped STE, per channel (axis 1)'],
      [{ kind: 'binary' }, binarizeArray(w), 1, 'binary, α = 1, identity STE'],
      [{ kind: 'ternary', threshold: 0.3 }, ternaryArray(w, { threshold: 0.3 }), 2, 'ternary, τ = 0.3·max|w|, α = mean|w| over kept, identity STE'],
      [{ kind: 'ternary', threshold: { absolute: 0.1 }, scale: 0.5 }, ternaryArray(w, { threshold: { absolute: 0.1 }, scale: 0.5 }), 2, 'ternary, τ = 0.1, α = 0.5, identity STE'],
    ];
    for (const [cfg, expected, bits, text] of cases) {
      const q = makeQuantizer(cfg);
      assert.equal(q.bitsPerWeight, bits, `${cfg.kind}: bitsPerWeight`);
      assert.equal(q.describe(), text);
      assert.deepEqual(q.config, cfg);
      const x = tf.tensor2d(w, [6, 8]);
      await expectNoLeaks(() => expectBitsEqual(tf.tidy(() => readF32(q(x))), expected, `${text}: tensor`), text);
      expectBitsEqual(q.applyArray(w, [6, 8]), expected, `${text}: twin`);
      x.dispose();
    }
  });

  it('none returns a new tensor that the caller may dispose', () => {
    const x = tf.tensor1d([1, 2]);
    const y = makeQuantizer({ kind: 'none' })(x);
    assert.notEqual(y, x);
    y.dispose();
    assert.deepEqual(Array.from(x.dataSync()), [1, 2]);
    x.dispose();
  });

  it('rejects bad configs naming the key and what was expected', () => {
    const bad: [unknown, RegExp][] = [
      [{ kind: 'uniform', bits: 0 }, /^Error: quantizer\.bits: expected an integer in 1\.\.16, got 0$/],
      [{ kind: 'uniform' }, /quantizer\.bits: expected an integer in 1\.\.16, got nothing/],
      [{ kind: 'uniform', bits: '4' }, /quantizer\.bits: expected an integer in 1\.\.16, got "4"/],
      [{ kind: 'uniform', bits: 4, scale: 0 }, /quantizer\.scale: expected 'max', a number > 0 or \{ percentile: p \} with p in \(0, 100\], got 0/],
      [{ kind: 'uniform', bits: 4, scale: { percentile: 101 } }, /quantizer\.scale: .*got \{"percentile":101\}/],
      [{ kind: 'uniform', bits: 4, perChannel: 'rows' }, /quantizer\.perChannel: expected true, false or \{ axis: integer \}, got "rows"/],
      [{ kind: 'uniform', bits: 4, ste: 'straight' }, /quantizer\.ste: expected 'identity' or 'clipped', got "straight"/],
      [{ kind: 'uniform', bits: 4, bitz: 4 }, /quantizer\.bitz: unknown key for kind 'uniform' \(expected kind, bits, scale, ste, perChannel\)/],
      [{ kind: 'binary', bits: 1 }, /quantizer\.bits: unknown key for kind 'binary'/],
      [{ kind: 'ternary' }, /quantizer\.threshold: expected a fraction of max\|w\| in \[0, 1\) or \{ absolute: τ ≥ 0 \}, got nothing/],
      [{ kind: 'ternary', threshold: 0.5, scale: 'median' }, /quantizer\.scale: expected 'mean', 'max' or a number > 0, got "median"/],
      [{ kind: 'int4' }, /quantizer\.kind: expected one of none\|uniform\|binary\|ternary, got "int4"/],
      ['uniform', /quantizer: expected an object with a kind, got "uniform"/],
    ];
    for (const [cfg, re] of bad) assert.throws(() => parseWeightQuantizer(cfg), re, JSON.stringify(cfg));
    assert.throws(() => makeQuantizer({ kind: 'uniform', bits: 99 }, 'model.U.quantizer'), /model\.U\.quantizer\.bits: expected an integer in 1\.\.16, got 99/);
  });

  it('per-channel axis is checked against the tensor when applied', () => {
    const q = makeQuantizer({ kind: 'uniform', bits: 4, perChannel: { axis: 2 } });
    const x = tf.zeros([2, 2]);
    assert.throws(() => q(x), /quantizeUniform: axis must be an integer in -2\.\.1 for a rank-2 tensor, got 2/);
    x.dispose();
  });
});
