import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, Rng } from './index.js';

describe('seeded randomness', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
    assert.notDeepEqual(createRng(1).uniform(), createRng(2 ** 32 + 1).uniform());
  });

  it('forks depend on the label and not on how much the parent has drawn', () => {
    const a = createRng('exp');
    const f1 = a.fork('W').uniform();
    a.uniform();
    a.uniform();
    assert.equal(a.fork('W').uniform(), f1);
    assert.notEqual(a.fork('U').uniform(), f1);
  });

  it('restores a saved state exactly', () => {
    const r = createRng(9);
    r.normal();
    r.normal();
    const s = r.state();
    const next = [r.nextUint32(), r.nextUint32()];
    const q = Rng.fromState(s);
    assert.deepEqual([q.nextUint32(), q.nextUint32()], next);
  });

  it('uniform, normal and int have the right statistics', () => {
    const r = createRng(7);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0;
    const counts = new Array(6).fill(0);
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      assert.ok(u >= 0 && u < 1);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
      counts[r.int(6)]++;
    }
    assert.ok(Math.abs(su / n - 0.5) < 0.005, `uniform mean ${su / n}`);
    assert.ok(Math.abs(sn / n) < 0.01, `normal mean ${sn / n}`);
    assert.ok(Math.abs(sn2 / n - 1) < 0.02, `normal variance ${sn2 / n}`);
    for (const c of counts) assert.ok(Math.abs(c / n - 1 / 6) < 0.005, `int(6) frequency ${c / n}`);
    assert.throws(() => r.int(0), /rng.int: n must be an integer in \[1, 2\^32\], got 0/);
  });

  it('permutation is a permutation', () => {
    const p = createRng(3).permutation(784);
    assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 784 }, (_, i) => i));
    assert.notDeepEqual([...p], Array.from({ length: 784 }, (_, i) => i));
  });
});
