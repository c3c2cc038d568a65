import test from 'node:test';
import assert from 'node:assert/strict';
import { registerSweep, claimTrial, recordMetrics, finishTrial, failTrial, listTrials, listSweeps, getTrial, metricCurves, sweepStatus, type Store } from './index.js';
import { tempStore, trialInput } from './testing.js';

/** 8 trials: bits 2/4 × lr 0.1/0.01 × seed 0/1; test_acc = bits/10 + seed/100 (+ lr). */
function populate(store: Store): void {
  const inputs = [];
  for (const bits of [2, 4]) for (const lr of [0.1, 0.01]) for (const seed of [0, 1]) inputs.push(trialInput({ model: { bits, name: 'hadamrnn' }, lr, seed }));
  const { sweep } = registerSweep(store, { name: 'grid', spec: '', fingerprint: 'f', trials: inputs });
  registerSweep(store, { name: 'other', spec: '', fingerprint: 'g', trials: [inputs[0], trialInput({ model: { bits: 8 }, lr: 1, seed: 0 }, 'ptq')] });
  for (let i = 0; i < 7; i++) {
    const c = claimTrial(store, { sweepId: sweep.id, workerId: 'w' })!;
    const cfg = c.config as { model: { bits: number }; lr: number; seed: number };
    recordMetrics(
      store,
      c,
      [0, 1, 2].map((step) => ({ key: 'train_loss', step, value: 3 - step + cfg.lr })),
    );
    if (i === 6) failTrial(store, c, 'diverged');
    else finishTrial(store, c, { test_acc: cfg.model.bits / 10 + cfg.seed / 100 + cfg.lr });
  }
}

test('listTrials: filters on config and summary, sweep membership, ordering, summary keys', () => {
  const t = tempStore();
  try {
    populate(t.store);
    assert.equal(listTrials(t.store).length, 9);
    assert.equal(listTrials(t.store, { sweep: 'grid' }).length, 8);
    const four = listTrials(t.store, { where: 'params.model.bits = 4 and status = done' });
    assert.deepEqual(
      four.map((r) => [r.config.lr, r.config.seed]),
      [
        [0.1, 0],
        [0.1, 1],
      ],
    );
    const good = listTrials(t.store, { where: 'metrics.test_acc > 0.4', orderBy: 'metrics.test_acc', desc: true });
    assert.deepEqual(
      good.map((r) => r.summary.test_acc.final),
      [0.51, 0.5],
    );
    assert.deepEqual(listTrials(t.store, { where: 'best.train_loss < 1.05 and status = done' }).length, 2);
    assert.deepEqual(listTrials(t.store, { where: 'status = failed' })[0].error, 'diverged');
    assert.deepEqual(
      listTrials(t.store, { where: 'sweep = other', orderBy: 'params.model.bits' }).map((r) => [r.mode, r.config.model]),
      [
        ['qat', { bits: 2, name: 'hadamrnn' }],
        ['ptq', { bits: 8 }],
      ],
    );
    assert.equal(listTrials(t.store, { where: 'params.model.name = null' }).length, 1);
    const slim = listTrials(t.store, { sweep: 'grid', summaryKeys: ['test_acc'], limit: 2, offset: 1 });
    assert.equal(slim.length, 2);
    assert.deepEqual(Object.keys(slim[0].summary), ['test_acc']);
    assert.throws(() => listTrials(t.store, { sweep: 'nope' }), /unknown sweep 'nope' in .*test\.db \(known: grid, other\)/);
    assert.throws(() => listTrials(t.store, { orderBy: 'colour' }), /orderBy: expected params.<path>/);
  } finally {
    t.cleanup();
  }
});

test('sweepStatus, listSweeps, getTrial, metricCurves', () => {
  const t = tempStore();
  try {
    populate(t.store);
    const st = sweepStatus(t.store, 'grid');
    assert.deepEqual([st.total, st.done, st.failed, st.pending, st.running, st.retired], [8, 6, 1, 1, 0, 0]);
    assert.ok(st.firstStartedAt! <= st.lastFinishedAt!);
    assert.deepEqual(
      listSweeps(t.store).map((s) => [s.name, s.total, s.done, s.pending]),
      [
        ['grid', 8, 6, 1],
        ['other', 2, 1, 1],
      ],
    );
    const first = listTrials(t.store, { sweep: 'grid', limit: 1 })[0];
    const d = getTrial(t.store, first.hash.slice(0, 8));
    assert.equal(d.id, first.id);
    assert.deepEqual(d.sweeps, ['grid', 'other']);
    assert.deepEqual(d.curves, [{ key: 'train_loss', points: 3, firstStep: 0, lastStep: 2 }]);
    assert.equal(getTrial(t.store, String(first.id)).hash, first.hash);
    assert.throws(() => getTrial(t.store, 'zz'), /expected an id or a hash prefix of at least 4 hex digits, got 'zz'/);
    assert.throws(() => getTrial(t.store, 999), /no trial with id 999/);
    const curves = metricCurves(t.store, [first.id, first.id + 1], ['train_loss']);
    assert.equal(curves.length, 2);
    assert.deepEqual(curves[0], { trialId: first.id, key: 'train_loss', steps: [0, 1, 2], values: [3.1, 2.1, 1.1] });
    assert.deepEqual(metricCurves(t.store, [first.id], []), []);
  } finally {
    t.cleanup();
  }
});
