import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectArraysClose, expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { blockHadamard, fwht, hadamard } from './index.js';

/** Dense reference: rows of x times (I ⊗ H_m)ᵀ in Float64. */
function denseRows(x: Float32Array, n: number, m: number, scale = 1): Float64Array {
  const h = m === n ? hadamard(n) : blockHadamard(n, m);
  const rows = x.length / n;
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += h[i * n + k] * x[r * n + k];
      out[r * n + i] = s * scale;
    }
  return out;
}

describe('fwht', () => {
  before(() => testBackend());

  it('equals the dense Sylvester product on a single vector (n = 1 … 256)', () => {
    const rng = createRng(3);
    for (const n of [1, 2, 4, 8, 64, 256]) {
      const x = rng.normalArray(n);
      const expected = denseRows(x, n, n);
      const y = fwht(Float32Array.from(x));
      expectArraysClose(y, expected, 1e-4, 1e-5, `fwht n=${n}`);
    }
  });

  it('works in place on batched rows, with blocks and normalisation (an involution)', () => {
    const rng = createRng(4);
    const x = rng.normalArray(3 * 32);
    const y = Float32Array.from(x);
    const out = fwht(y, { rowLength: 32, blockSize: 8 });
    assert.equal(out, y, 'in place');
    expectArraysClose(y, denseRows(x, 32, 8), 1e-4, 1e-5, 'batched block fwht');
    const z = Float32Array.from(x);
    fwht(z, { rowLength: 32, normalize: true });
    fwht(z, { rowLength: 32, normalize: true });
    expectArraysClose(z, x, 1e-5, 1e-5, 'normalised fwht twice');
    const w = Float64Array.from(x);
    fwht(w, { rowLength: 32 });
    expectArraysClose(w, denseRows(x, 32, 32), 1e-4, 1e-5, 'Float64Array');
  });

  it('on tensors: matches the dense product along the last axis, any leading shape', async () => {
    const rng = createRng(5);
    const x = rng.normalArray(2 * 3 * 16);
    await expectNoLeaks(() => {
      const t = tf.tensor3d(x, [2, 3, 16]);
      const y = fwht(t, { blockSize: 4, normalize: true });
      assert.deepEqual(y.shape, [2, 3, 16]);
      expectArraysClose(y, denseRows(x, 16, 4, 0.5), 1e-5, 1e-5, 'tensor fwht');
      t.dispose();
      y.dispose();
    }, 'tensor fwht');
  });

  it('has the transform itself as gradient (H symmetric)', async () => {
    const rng = createRng(6);
    const x = rng.normalArray(2 * 8);
    const c = rng.normalArray(2 * 8);
    await expectNoLeaks(() => {
      const g = tf.tidy(() => {
        const ct = tf.tensor2d(c, [2, 8]);
        return tf.grad((xt: tf.Tensor) => tf.sum(tf.mul(fwht(xt), ct)))(tf.tensor2d(x, [2, 8]));
      });
      // d/dx Σ c·(x Hᵀ) = c H = rows of H c (symmetric H).
      expectArraysClose(g, denseRows(c, 8, 8), 1e-5, 1e-5, 'fwht gradient');
      g.dispose();
    }, 'fwht gradient');
  });

  it('rejects sizes that are not powers of two, with the size in the message', () => {
    assert.throws(() => fwht(new Float32Array(12)), /fwht: block size 12 must be a power of two/);
    assert.throws(() => fwht(new Float32Array(16), { rowLength: 16, blockSize: 32 }), /block size 32 must divide the row length 16/);
    assert.throws(() => fwht(new Float32Array(10), { rowLength: 4 }), /array length 10 is not a multiple of the row length 4/);
    const t = tf.zeros([2, 12]);
    assert.throws(() => fwht(t), /block size 12 must be a power of two/);
    t.dispose();
  });
});
