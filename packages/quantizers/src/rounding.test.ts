import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { roundHalfEven } from './rounding.js';
import { expectBitsEqual, readF32 } from './testing.js';

describe('roundHalfEven', () => {
  before(async () => {
    await testBackend();
  });

  it('sends ties to the even neighbour and returns +0 for every zero', () => {
    const cases: [number, number][] = [
      [0.5, 0],
      [1.5, 2],
      [2.5, 2],
      [-0.5, 0],
      [-1.5, -2],
      [-2.5, -2],
      [0.49999997, 0],
      [-0.3, 0],
      [2 ** 23 + 0.5, 2 ** 23],
      [1e9 + 0.5, 1e9],
    ];
    for (const [x, want] of cases) assert.ok(Object.is(roundHalfEven(x), want), `roundHalfEven(${x}) = ${roundHalfEven(x)}, expected ${want}`);
  });

  it('agrees with tf.round (then +0) bit for bit on ties and random float32 values', () => {
    const rng = createRng(21);
    const xs = new Float32Array(6000);
    for (let i = 0; i < 2001; i++) xs[i] = i - 1000 + 0.5;
    rng.uniformArray(3998, -3000, 3000, xs.subarray(2001, 5999));
    xs[5999] = -0.25;
    const t = tf.tidy(() => readF32(tf.add(tf.round(tf.tensor1d(xs)), 0)));
    expectBitsEqual(Float32Array.from(xs, roundHalfEven), t, 'roundHalfEven vs tf.round');
  });
});
