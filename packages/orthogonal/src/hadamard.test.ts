import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { blockHadamard, hadamard, hadamardConstruction, hadamardOrders, hadamardTensor, kronecker } from './index.js';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { before } from 'node:test';

/** HᵀH = nI exactly (integer arithmetic) and entries exactly ±1. */
function checkHadamard(h: Int8Array, n: number): void {
  assert.equal(h.length, n * n);
  for (let i = 0; i < h.length; i++) if (h[i] !== 1 && h[i] !== -1) assert.fail(`order ${n}: entry ${i} is ${h[i]}`);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += h[k * n + i] * h[k * n + j];
      if (d !== (i === j ? n : 0)) assert.fail(`order ${n}: (HᵀH)[${i}, ${j}] = ${d}, expected ${i === j ? n : 0}`);
    }
  }
}

/** Every order ≤ 256 this package claims, as a fixed list (so a regression in the search shows). */
const CLAIMED_UP_TO_256 = [
  1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 56, 60, 64, 68, 72, 76, 80, 84, 88, 96, 104, 108, 112, 120, 124, 128,
  132, 136, 140, 144, 148, 152, 160, 164, 168, 176, 180, 192, 196, 200, 204, 208, 212, 216, 220, 224, 228, 240, 248,
  252, 256,
];

describe('hadamard', () => {
  before(() => testBackend());

  it('claims exactly the listed orders up to 256', () => {
    assert.deepEqual(hadamardOrders(256), CLAIMED_UP_TO_256);
  });

  it('gives ±1 entries and HᵀH = nI exactly for every claimed order up to 256', () => {
    for (const n of CLAIMED_UP_TO_256) checkHadamard(hadamard(n), n);
  });

  it('uses Sylvester for powers of two, Paley I/II for primes, Kronecker otherwise', () => {
    assert.equal(hadamardConstruction(64)?.kind, 'sylvester');
    assert.deepEqual(hadamardConstruction(12), { kind: 'paley1', n: 12, q: 11 });
    assert.deepEqual(hadamardConstruction(28), { kind: 'paley2', n: 28, q: 13 });
    assert.deepEqual(hadamardConstruction(36), { kind: 'paley2', n: 36, q: 17 });
    assert.equal(hadamardConstruction(40)?.kind, 'kronecker');
    for (const n of [12, 20, 24, 28, 36, 40, 44, 48]) assert.ok(hadamardConstruction(n), `order ${n}`);
  });

  it("is Sylvester's recursion H_2m = [[H, H], [H, −H]] for n = 2^k", () => {
    const h4 = hadamard(4);
    assert.deepEqual(Array.from(h4), [1, 1, 1, 1, 1, -1, 1, -1, 1, 1, -1, -1, 1, -1, -1, 1]);
    const h8 = hadamard(8);
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 4; j++) {
        const v = h4[i * 4 + j];
        assert.deepEqual([h8[i * 8 + j], h8[i * 8 + j + 4], h8[(i + 4) * 8 + j], h8[(i + 4) * 8 + j + 4]], [v, v, v, -v]);
      }
  });

  it('throws a clear error for an order with no construction', () => {
    assert.throws(() => hadamard(22), /^Error: hadamard: no construction for order 22 \(known here: 2\^k, Paley I\/II primes, Kronecker products\)$/);
    assert.throws(() => hadamard(92), /no construction for order 92/);
    assert.throws(() => hadamard(0), /no construction for order 0/);
    assert.throws(() => hadamard(6), /order 6/);
  });

  it('builds I ⊗ H_m for blockHadamard and rejects m ∤ n', () => {
    const b = blockHadamard(24, 12);
    const h12 = hadamard(12);
    for (let i = 0; i < 24; i++)
      for (let j = 0; j < 24; j++) {
        const same = Math.floor(i / 12) === Math.floor(j / 12);
        assert.equal(b[i * 24 + j], same ? h12[(i % 12) * 12 + (j % 12)] : 0);
      }
    const eye = new Int8Array([1, 0, 0, 1]);
    assert.deepEqual(blockHadamard(16, 8), kronecker(eye, 2, hadamard(8), 8));
    assert.throws(() => blockHadamard(20, 8), /blockHadamard: block size m = 8 must divide n = 20/);
    assert.throws(() => blockHadamard(44, 22), /no construction for order 22/);
  });

  it('hadamardTensor scales the (block) matrix and leaks nothing', async () => {
    await expectNoLeaks(() => {
      const t = hadamardTensor(8, { blockSize: 4, scale: 0.5 });
      const d = t.dataSync();
      assert.equal(d[0], 0.5);
      assert.equal(d[4], 0);
      t.dispose();
    }, 'hadamardTensor');
  });
});
