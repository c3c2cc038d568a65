import test from 'node:test';
import assert from 'node:assert/strict';
import { median, ratio, summarize } from './stats.js';

test('median of odd and even counts, unsorted input left untouched', () => {
  const xs = [3, 1, 2];
  assert.equal(median(xs), 2);
  assert.deepEqual(xs, [3, 1, 2]);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
});

test('summarize gives median, min, max and count; rejects empty and non-finite input', () => {
  assert.deepEqual(summarize([0.5, 0.2, 0.9, 0.4, 0.3]), { median: 0.4, min: 0.2, max: 0.9, n: 5 });
  assert.throws(() => summarize([]), /empty/);
  assert.throws(() => median([]), /empty/);
  assert.throws(() => summarize([1, Number.NaN]), /non-finite/);
});

test('ratio is null when a side is missing or the divisor is not positive', () => {
  assert.equal(ratio(1, 4), 0.25);
  assert.equal(ratio(null, 4), null);
  assert.equal(ratio(1, undefined), null);
  assert.equal(ratio(1, 0), null);
});
