/**
 * Test helpers shared by every package (kept out of the main barrel):
 * float tolerances, tensor-leak checks, and a ready backend.
 */
import assert from 'node:assert/strict';
import { tf, initBackend } from './backend.js';
import type { BackendChoice } from './backend.js';
import { setting } from './settings.js';

/** Backends the test suite runs on by default: wasm (the embedded default) unless told. */
export async function testBackend(choice: BackendChoice | string = setting('testBackend')): Promise<void> {
  await initBackend(choice);
}

/** Assert |a_i − b_i| ≤ atol + rtol·|b_i| for every i (shapes must match in length). */
export function expectArraysClose(actual: ArrayLike<number> | tf.Tensor, expected: ArrayLike<number> | tf.Tensor, atol = 1e-5, rtol = 1e-5, what = 'arrays'): void {
  const a = toArray(actual);
  const b = toArray(expected);
  assert.equal(a.length, b.length, `${what}: length ${a.length} vs expected ${b.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    const tol = atol + rtol * Math.abs(b[i]);
    if (!(err <= tol) && (worst < 0 || err - tol > worstErr)) {
      worst = i;
      worstErr = err - tol;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${a[worst]}, expected ${b[worst]} (|diff| ${Math.abs(a[worst] - b[worst]).toExponential(3)} > atol ${atol} + rtol ${rtol}·|expected|)`);
  }
}

/** Relative error ‖a − b‖₂ / max(‖b‖₂, tiny). */
export function relativeError(actual: ArrayLike<number> | tf.Tensor, expected: ArrayLike<number> | tf.Tensor): number {
  const a = toArray(actual);
  const b = toArray(expected);
  if (a.length !== b.length) throw new Error(`relativeError: length ${a.length} vs ${b.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

function toArray(x: ArrayLike<number> | tf.Tensor): ArrayLike<number> {
  return x instanceof tf.Tensor ? (x.dataSync() as Float32Array) : x;
}

/**
 * Run `fn` and assert that it leaves no tensor behind (`tf.memory().numTensors` before and
 * after). Returns `fn`'s result, which must not be a tensor created inside.
 */
export async function expectNoLeaks<T>(fn: () => T | Promise<T>, what = 'operation'): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  const after = tf.memory().numTensors;
  assert.equal(after - before, 0, `${what} leaked ${after - before} tensor(s)`);
  return out;
}

/** Central finite-difference gradient of a scalar function of a Float32Array. */
export function finiteDifference(f: (x: Float32Array) => number, x: Float32Array, eps = 1e-3, indices?: number[]): Float64Array {
  const idx = indices ?? Array.from({ length: x.length }, (_, i) => i);
  const g = new Float64Array(x.length);
  for (const i of idx) {
    const orig = x[i];
    x[i] = orig + eps;
    const fp = f(x);
    x[i] = orig - eps;
    const fm = f(x);
    x[i] = orig;
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}
