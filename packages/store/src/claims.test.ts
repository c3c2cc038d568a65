import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerSweep, sweepStatus } from './index.js';
import { tempStore, trialInput } from './testing.js';
import { runFixture } from './test-fixtures/spawn.js';

test('four processes hammering claims on one database never claim the same trial', async () => {
  const t = tempStore('orthoquant-claims-');
  try {
    const N = 400;
    registerSweep(t.store, { name: 'hammer', spec: '', fingerprint: 'f', trials: Array.from({ length: N }, (_, i) => trialInput({ i })) });
    const go = join(t.dir, 'go');
    const runs = ['w1', 'w2', 'w3', 'w4'].map((w) => runFixture('claim-hammer', [t.path, go, w]));
    await new Promise((r) => setTimeout(r, 1500)); // let every child load and wait on `go`
    writeFileSync(go, '');
    const claimed = (await Promise.all(runs)).map((out) => JSON.parse(out) as number[]);
    const all = claimed.flat();
    assert.equal(new Set(all).size, all.length, 'a trial was claimed twice');
    assert.equal(all.length, N);
    assert.ok(claimed.filter((c) => c.length > 0).length >= 2, `expected interleaving, got ${claimed.map((c) => c.length).join('/')}`);
    const st = sweepStatus(t.store, 'hammer');
    assert.deepEqual([st.done, st.pending, st.running], [N, 0, 0]);
    const attempts = t.store.sqlite.prepare(`SELECT max(attempts) AS m, count(*) AS n FROM trials`).get() as { m: number; n: number };
    assert.equal(attempts.m, 1);
    const metrics = t.store.sqlite.prepare(`SELECT count(*) AS n FROM metrics`).get() as { n: number };
    assert.equal(metrics.n, N);
  } finally {
    t.cleanup();
  }
});
