import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerSweep, claimTrial, recordMetrics, finishTrial, recordProvenance, type Store, type MetricPoint } from '@orthoquant/store';
import { tempStore, trialInput } from '@orthoquant/store/testing';
import { exportResults, readSummary, thinCurve, thinningStride, labelTrials, budgetText, formatValue, type ResultRow } from '../index.js';

const BASE = { task: { name: 'copy', T: 100, K: 10 }, batchSize: 16, budget: { epochs: 5 } };
const PLAN = () => ({ stepsPerEpoch: 1000, memorylessLoss: 0.2 });

/** A loss falling from 2 to 2e-7 over `steps` steps, with epoch records every 1000 steps. */
function trainPoints(from: number, to: number, epochEvery: number, testLoss: (epoch: number) => number): MetricPoint[] {
  const pts: MetricPoint[] = [];
  for (let s = from; s <= to; s++) {
    pts.push({ key: 'loss', step: s, value: 2 * 10 ** (-7 * (s / 5000)) }, { key: 'grad_norm', step: s, value: 1 }, { key: 'step_seconds', step: s, value: 0.01 });
    if (s % epochEvery === 0) {
      const e = s / epochEvery - 1;
      pts.push({ key: 'epoch', step: s, value: e }, { key: 'test_loss', step: s, value: testLoss(e) }, { key: 'val_loss', step: s, value: testLoss(e) * 1.1 }, { key: 'eval_seconds', step: s, value: 2 });
    }
  }
  return pts;
}

/** Sweep 'rs': A seed 0 done (5000 steps), A seed 1 running (1300 steps, one epoch evaluated, then a mid-epoch validation), B pending. */
function fixture(): { t: ReturnType<typeof tempStore>; ids: number[] } {
  const t = tempStore('oq-results-');
  const trials = [
    trialInput({ ...BASE, seed: 0, model: { type: 'hadamrnn', hidden: 16, bits: 4 } }),
    trialInput({ ...BASE, seed: 1, model: { type: 'hadamrnn', hidden: 16, bits: 4 } }),
    trialInput({ ...BASE, seed: 0, model: { type: 'qornn', hidden: 16, bits: 4 } }),
  ];
  const reg = registerSweep(t.store, { name: 'rs', spec: 'rs', fingerprint: 'f', trials });
  const done = claimTrial(t.store, { sweepId: reg.sweep.id, workerId: 'w' })!;
  recordMetrics(t.store, done, trainPoints(1, 5000, 1000, (e) => 10 ** (-2 - e)));
  recordProvenance(t.store, done, { host: 'box', nodeVersion: 'v20.0.0', gitCommit: 'a'.repeat(40), gitDirty: false });
  finishTrial(t.store, done, { test_loss: 1e-6, test_accuracy: 1, memoryless_loss: 0.2, steps: 5000, epochs: 5, seconds: 3600 });
  const running = claimTrial(t.store, { sweepId: reg.sweep.id, workerId: 'w' })!;
  recordMetrics(t.store, running, [...trainPoints(1, 1300, 1000, () => 0.05), { key: 'val_loss', step: 1200, value: 0.04 }]);
  return { t, ids: [done.trialId, running.trialId] };
}

function exportTo(store: Store, extra: Partial<Parameters<typeof exportResults>[1]> = {}) {
  const out = mkdtempSync(join(tmpdir(), 'oq-results-out-'));
  return { out, exported: exportResults(store, { sweeps: ['rs'], out, planOf: PLAN, maxLossPoints: 100, ...extra }) };
}

test('summary rows: a done trial reads its summary; a running one its latest full evaluation with its step and epoch; a pending one its baseline', () => {
  const { t, ids } = fixture();
  const { out } = exportTo(t.store);
  try {
    const s = readSummary(join(out, 'rs', 'summary.json'))!;
    const [done, running, pending] = s.trials;
    assert.deepEqual([done.trial, running.trial], ids);
    assert.equal(done.metricsSource, 'summary');
    assert.deepEqual(done.budget, { steps: 5000, totalSteps: 5000, stepsPerEpoch: 1000, evalStep: 5000, evalEpochs: 5, totalEpochs: 5, complete: true });
    assert.equal(done.metrics.test_loss, 1e-6);
    assert.deepEqual([done.wallSeconds, done.wallSource, done.provenance?.host], [3600, 'trainer', 'box']);
    // the test metrics of the epoch that ended at step 1000, not the later mid-epoch validation
    assert.equal(running.metricsSource, 'latest evaluation');
    assert.deepEqual(running.budget, { steps: 1300, totalSteps: 5000, stepsPerEpoch: 1000, evalStep: 1000, evalEpochs: 1, totalEpochs: 5, complete: false });
    assert.equal(running.metrics.test_loss, 0.05);
    assert.equal(running.metrics.memoryless_loss, 0.2, 'the baseline comes from the plan when the trainer has not reported it');
    assert.equal(running.metrics.loss, undefined, 'per-step keys are curves, not results');
    assert.ok(Math.abs(running.wallSeconds! - (1300 * 0.01 + 2)) < 1e-9);
    assert.equal(running.wallSource, 'step and eval times');
    assert.equal(budgetText(running.budget), '1 of 5 epochs (step 1,000 of 5,000)');
    assert.deepEqual([pending.status, pending.metricsSource, pending.budget.evalStep, pending.metrics], ['pending', 'none', null, { memoryless_loss: 0.2 }]);
    assert.deepEqual(
      s.trials.map((r: ResultRow) => r.label),
      ['hadamrnn n=16 4-bit', 'hadamrnn n=16 4-bit', 'qornn n=16 4-bit'],
    );
    const csv = readFileSync(join(out, 'rs', 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 4);
    const head = csv[0].split(',');
    assert.deepEqual(head.slice(0, 6), ['sweep', 'trial', 'hash', 'status', 'label', 'seed']);
    assert.ok(head.includes('params.model.type') && head.includes('metrics.test_loss'));
    assert.ok(head.indexOf('params.model.type') < head.indexOf('metrics.test_loss'), 'config columns before metrics');
    assert.equal(csv[2].split(',')[head.indexOf('eval_epochs')], '1');
  } finally {
    rmSync(out, { recursive: true, force: true });
    t.cleanup();
  }
});

test('curves.csv: the training loss thinned to every N-th step with the mean of each window; evaluated keys in full; other per-step keys left out', () => {
  const { t, ids } = fixture();
  const { out } = exportTo(t.store);
  try {
    const rows = readFileSync(join(out, 'rs', 'curves.csv'), 'utf8').trim().split('\n');
    assert.equal(rows[0], 'trial,key,step,value');
    const of = (trial: number, key: string) => rows.slice(1).map((l) => l.split(',')).filter((r) => Number(r[0]) === trial && r[1] === key);
    const loss = of(ids[0], 'loss');
    assert.equal(loss.length, 100, '5000 steps at most 100 points: every 50th');
    assert.deepEqual([loss[0][2], loss.at(-1)![2]], ['50', '5000']);
    const mean = of(ids[0], 'loss_mean');
    let expected = 0;
    for (let s = 1; s <= 50; s++) expected += 2 * 10 ** (-7 * (s / 5000));
    assert.ok(Math.abs(Number(mean[0][3]) - expected / 50) < 1e-12);
    assert.equal(of(ids[0], 'test_loss').length, 5);
    assert.equal(of(ids[1], 'val_loss').length, 2);
    assert.equal(of(ids[0], 'grad_norm').length, 0);
    const summary = JSON.parse(readFileSync(join(out, 'rs', 'summary.json'), 'utf8')) as { lossThinning: Record<string, { every: number; steps: number }> };
    assert.deepEqual(summary.lossThinning[ids[0]], { every: 50, steps: 5000 });
    assert.deepEqual(summary.lossThinning[ids[1]], { every: 13, steps: 1300 });
  } finally {
    rmSync(out, { recursive: true, force: true });
    t.cleanup();
  }
});

test('plots: losses on a log axis with the memoryless baseline; tables only where a cell has a finished trial; the export is deterministic', () => {
  const { t } = fixture();
  const specs = mkdtempSync(join(tmpdir(), 'oq-results-specs-'));
  writeFileSync(join(specs, 'hit.yaml'), 'name: hit\ntitle: Hit\nrows:\n  - { label: HadamRNN, where: { model.type: hadamrnn } }\ncolumns:\n  - { label: test loss, metric: test_loss, format: { digits: 7 } }\n');
  writeFileSync(join(specs, 'miss.yaml'), 'name: miss\ntitle: Miss\nrows:\n  - { label: LSTM, where: { model.type: lstm } }\ncolumns:\n  - { label: test loss, metric: test_loss }\n');
  const tableSpecs = [join(specs, 'hit.yaml'), join(specs, 'miss.yaml')];
  const publishedDir = join(specs, 'no-published');
  const a = exportTo(t.store, { tableSpecs, publishedDir });
  const b = exportTo(t.store, { tableSpecs, publishedDir });
  try {
    const files = a.exported[0].files;
    assert.deepEqual(files, ['summary.json', 'summary.csv', 'curves.csv', 'tables/hit.md', 'train-loss.svg', 'val-loss.svg', 'test-loss.svg']);
    for (const f of [...files, '../README.md', '../index.json']) assert.equal(readFileSync(join(a.out, 'rs', f), 'utf8'), readFileSync(join(b.out, 'rs', f), 'utf8'), f);
    const svg = readFileSync(join(a.out, 'rs', 'train-loss.svg'), 'utf8');
    assert.match(svg, /class="axis y-axis" data-scale="log"/);
    assert.match(svg, /<g class="reference" data-value="0.2">/);
    assert.match(svg, /memoryless baseline 0\.2/);
    assert.match(svg, /training loss \(mean of every 50 steps\)/);
    assert.match(svg, /data-label="hadamrnn n=16 4-bit" data-runs="2"/);
    assert.match(readFileSync(join(a.out, 'rs', 'tables', 'hit.md'), 'utf8'), /\| HadamRNN \| 0\.0000010 ± 0\.0000000 \(1\) \|/);
    assert.ok(!existsSync(join(a.out, 'rs', 'tables', 'miss.md')));
    const index = readFileSync(join(a.out, 'README.md'), 'utf8');
    assert.match(index, /\| \d+ \| hadamrnn n=16 4-bit \| 1 \| running \| 1 of 5 epochs \(step 1,000 of 5,000\) \| test_loss 0\.05, val_loss 0\.055, memoryless_loss 0\.2 \| 15 s \|/);
    assert.match(index, /\| \d+ \| qornn n=16 4-bit \| 0 \| pending \| not evaluated yet \(step 0 of 5,000\) \|/);
  } finally {
    for (const d of [a.out, b.out, specs]) rmSync(d, { recursive: true, force: true });
    t.cleanup();
  }
});

test('thinCurve keeps every N-th point and the last, each with the mean of its window; labels tell configs apart beyond the model', () => {
  const c = thinCurve({ steps: [1, 2, 3, 4, 5, 6, 7], values: [1, 2, 3, null, 5, 6, 7] }, 3);
  assert.deepEqual(c, { steps: [3, 6, 7], values: [3, 6, 7], means: [2, 5.5, 7] });
  assert.equal(thinningStride(40000, 2000), 20);
  assert.equal(thinningStride(10, 2000), 1);
  assert.throws(() => thinCurve({ steps: [], values: [] }, 0), /expected an integer every ≥ 1, got 0/);
  const labels = labelTrials([
    { seed: 0, model: { type: 'hadamrnn', hidden: 8 }, optimizer: { lr: 0.1 } },
    { seed: 1, model: { type: 'hadamrnn', hidden: 8 }, optimizer: { lr: 0.1 } },
    { seed: 0, model: { type: 'hadamrnn', hidden: 8 }, optimizer: { lr: 0.01 } },
  ]);
  assert.deepEqual(labels, ['hadamrnn n=8 (optimizer.lr=0.1)', 'hadamrnn n=8 (optimizer.lr=0.1)', 'hadamrnn n=8 (optimizer.lr=0.01)']);
  assert.deepEqual([formatValue(5.7e-4), formatValue(0.020794), formatValue(98.76), formatValue(null)], ['5.70e-4', '0.0208', '98.8', '—']);
});
