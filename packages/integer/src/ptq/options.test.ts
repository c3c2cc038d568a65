import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePtqSettings } from './options.js';

test('parsePtqSettings: values and key-path errors', () => {
  assert.deepEqual(parsePtqSettings({ actBits: 12 }), { actBits: 12 });
  assert.deepEqual(parsePtqSettings({ actBits: 8, weightBits: 4, statistic: 'p99.9', calibrationBatches: 5 }), {
    actBits: 8,
    weightBits: 4,
    calibrationBatches: 5,
    statistic: { percentile: 99.9 },
  });
  assert.deepEqual(parsePtqSettings({ actBits: 6, statistic: { percentile: 99 } }).statistic, { percentile: 99 });
  assert.equal(parsePtqSettings({ actBits: 6, statistic: 'max' }).statistic, 'max');
  assert.throws(() => parsePtqSettings({ actBits: 17 }, 'sweep.yaml parameters.ptq'), /sweep\.yaml parameters\.ptq\.actBits: expected an integer in 6\.\.16, got 17/);
  assert.throws(() => parsePtqSettings({}), /ptq\.actBits: expected an integer in 6\.\.16, got nothing/);
  assert.throws(() => parsePtqSettings({ actBits: 8, bits: 4 }), /ptq\.bits: unknown key \(expected one of actBits, weightBits, statistic, calibrationBatches\)/);
  assert.throws(() => parsePtqSettings({ actBits: 8, statistic: 'p200' }), /ptq\.statistic: expected 'max', 'p<percentile>'.*got 'p200'/);
  assert.throws(() => parsePtqSettings(12), /ptq: expected an object with actBits, got 12/);
});
