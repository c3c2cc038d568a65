import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NumpyRandomState, numpyLegacyPermutation } from '../index.js';

interface Fixture {
  numpy: string;
  pmnist: { seed: number; n: number; permutation: number[] };
  small: { seed: number; n: number; permutation: number[] }[];
  consecutive: { seed: number; n: number; first: { head: number[]; checksum: number }; second: { head: number[]; checksum: number } };
  state: { seed: number; keyHead: number[]; randomSample: number[] };
}
// Generated once with numpy by fixtures/make-numpy-fixture.py.
const fx = JSON.parse(readFileSync(new URL('./fixtures/numpy-legacy-permutation.json', import.meta.url), 'utf8')) as Fixture;

function checksum(p: Int32Array): number {
  let s = 0n;
  for (let i = 0; i < p.length; i++) s += BigInt(i + 1) * BigInt(p[i]);
  return Number(s % 1000000007n);
}

describe('numpy legacy RandomState', () => {
  it(`reproduces np.random.RandomState(92916).permutation(784) (numpy ${fx.numpy})`, () => {
    assert.deepEqual(Array.from(numpyLegacyPermutation(92916, 784)), fx.pmnist.permutation);
  });

  it('seeds and draws like numpy (key after seeding, random_sample)', () => {
    const r = new NumpyRandomState(fx.state.seed);
    assert.deepEqual(r.keyHead(5), fx.state.keyHead);
    for (const v of fx.state.randomSample) assert.equal(r.randomSample(), v);
  });

  it('matches other seeds and sizes, including 0, 1 and 2^32 − 1', () => {
    for (const c of fx.small) assert.deepEqual(Array.from(numpyLegacyPermutation(c.seed, c.n)), c.permutation, `seed ${c.seed}, n ${c.n}`);
  });

  it('continues one stream across calls (Keras IMDB: two permutations of 25000 from seed 113)', () => {
    const r = new NumpyRandomState(fx.consecutive.seed);
    const a = r.permutation(fx.consecutive.n);
    const b = r.permutation(fx.consecutive.n);
    assert.deepEqual(Array.from(a.subarray(0, 20)), fx.consecutive.first.head);
    assert.equal(checksum(a), fx.consecutive.first.checksum);
    assert.deepEqual(Array.from(b.subarray(0, 20)), fx.consecutive.second.head);
    assert.equal(checksum(b), fx.consecutive.second.checksum);
  });

  it('is stable across runs and rejects seeds numpy rejects', () => {
    assert.deepEqual(numpyLegacyPermutation(92916, 784), numpyLegacyPermutation(92916, 784));
    assert.throws(() => new NumpyRandomState(-1), /NumpyRandomState: seed must be an integer in \[0, 2\^32 − 1\], got -1/);
    assert.throws(() => new NumpyRandomState(2 ** 32), /got 4294967296/);
  });
});
