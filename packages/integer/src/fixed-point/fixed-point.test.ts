import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '@orthoquant/runtime';
import { INT32_MAX, INT32_MIN, multiplierValue, multiplyByQuantizedMultiplier, quantizeMultiplier, roundingRightShift, srdhm } from './fixed-point.js';
import { mulQuantizedF64, roundShiftF64, srdhmF64 } from './fixed-point-f64.js';

/** Ground truth with BigInt: round(a·b / 2^31), ties away from zero, (−2^31)² saturated. */
function srdhmBig(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const p = BigInt(a) * BigInt(b);
  const nudge = p >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((p + nudge) / (1n << 31n)); // BigInt division truncates toward zero
}

function shiftBig(x: number, s: number): number {
  if (s === 0) return x;
  const d = 1n << BigInt(s);
  const ax = BigInt(Math.abs(x));
  const r = (2n * ax + d) / (2n * d); // floor(|x|/d + 1/2)
  return (x < 0 ? -Number(r) : Number(r)) + 0;
}

function randomInt32(rng: ReturnType<typeof createRng>): number {
  const bits = rng.int(32);
  return Math.trunc((rng.uniform() * 2 - 1) * 2 ** bits);
}

const EDGES = [0, 1, -1, 2, -2, 3, 65535, 65536, -65536, 2 ** 30, -(2 ** 30), INT32_MAX, INT32_MIN, INT32_MIN + 1];

test('srdhm and its Float64 twin equal the BigInt definition', () => {
  const rng = createRng('srdhm');
  const pairs: [number, number][] = [];
  for (const a of EDGES) for (const b of EDGES) pairs.push([a, b]);
  for (let i = 0; i < 20000; i++) pairs.push([randomInt32(rng), randomInt32(rng)]);
  for (const [a, b] of pairs) {
    const want = srdhmBig(a, b);
    assert.equal(srdhm(a, b), want, `srdhm(${a}, ${b})`);
    assert.equal(srdhmF64(a, b), want, `srdhmF64(${a}, ${b})`);
  }
});

test('roundingRightShift and roundShiftF64 round half away from zero', () => {
  const rng = createRng('shift');
  assert.equal(roundingRightShift(3, 1), 2);
  assert.equal(roundingRightShift(-3, 1), -2);
  assert.equal(roundingRightShift(5, 2), 1);
  assert.equal(roundingRightShift(-6, 2), -2);
  for (let i = 0; i < 20000; i++) {
    const x = i < EDGES.length ? EDGES[i] : randomInt32(rng);
    const s = rng.int(32);
    const want = shiftBig(x, s);
    assert.equal(roundingRightShift(x, s), want, `roundingRightShift(${x}, ${s})`);
    assert.equal(roundShiftF64(x, s), want, `roundShiftF64(${x}, ${s})`);
  }
});

test('quantizeMultiplier: Q0.31 mantissa in [2^30, 2^31), relative error ≤ 2^-31', () => {
  assert.deepEqual(quantizeMultiplier(0.5), { multiplier: 2 ** 30, shift: 0 });
  assert.deepEqual(quantizeMultiplier(1), { multiplier: 2 ** 30, shift: 1 });
  assert.deepEqual(quantizeMultiplier(0), { multiplier: 0, shift: 0 });
  const rng = createRng('qm');
  for (let i = 0; i < 2000; i++) {
    const r = Math.exp(rng.uniformIn(-30, 15));
    const m = quantizeMultiplier(r);
    assert.ok(m.multiplier >= 2 ** 30 && m.multiplier < 2 ** 31, `mantissa of ${r}`);
    assert.ok(Math.abs(multiplierValue(m) - r) <= r * 2 ** -31, `value of ${r}`);
  }
  assert.throws(() => quantizeMultiplier(-1, 'inputRescale'), /quantizeMultiplier: inputRescale: expected a finite number ≥ 0, got -1/);
  assert.throws(() => quantizeMultiplier(NaN), /expected a finite number ≥ 0, got NaN/);
});

test('multiplyByQuantizedMultiplier ≈ x·r within one unit, and equals its Float64 twin', () => {
  const rng = createRng('mbqm');
  for (let i = 0; i < 5000; i++) {
    const r = Math.exp(rng.uniformIn(-20, 3));
    const m = quantizeMultiplier(r);
    const x = Math.trunc(rng.uniformIn(-1, 1) * Math.min(2 ** 30, 2 ** 30 / Math.max(r, 1)));
    const y = multiplyByQuantizedMultiplier(x, m);
    assert.equal(mulQuantizedF64(x, m), y, `x=${x} r=${r}`);
    assert.ok(Math.abs(y - x * r) <= 1 + Math.abs(x * r) * 2 ** -30, `x=${x} r=${r}: ${y} vs ${x * r}`);
  }
  // The left shift saturates before the Q0.31 multiply (TFLite's order): 2^30 · 8 → (2^31 − 1) · ½.
  assert.equal(multiplyByQuantizedMultiplier(2 ** 30, quantizeMultiplier(8)), 2 ** 30);
  assert.equal(mulQuantizedF64(2 ** 30, quantizeMultiplier(8)), 2 ** 30);
});
