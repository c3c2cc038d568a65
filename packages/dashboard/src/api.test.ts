import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimTrial, finishTrial, openStore, registerSweep } from '@orthoquant/store';
import { trialInput } from '@orthoquant/store/testing';
import { configLabel, parseIds, scatterPoints, scatterSvg, seedlessKey, tailFile, MAX_CURVE_TRIALS } from './api.js';

describe('api helpers', () => {
  it('tailFile: the end of a long log from a line boundary; a missing file says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orthoquant-tail-'));
    try {
      const file = join(dir, 'trial.log');
      writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
      const t = tailFile(file, 100)!;
      assert.equal(t.truncated, true);
      assert.match(t.text, /^line \d+\n/);
      assert.match(t.text, /line 999\n$/);
      assert.ok(t.text.length <= 100);
      assert.deepEqual(tailFile(file, 1e6)!.text.split('\n').length, 1001);
      assert.deepEqual(tailFile(join(dir, 'gone.log'), 100), { path: join(dir, 'gone.log'), text: '', truncated: false, missing: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seed bands group configs that differ only by seed, at any depth', () => {
    assert.equal(seedlessKey({ b: 1, a: { seed: 3, x: 2 }, seed: 1 }), seedlessKey({ a: { x: 2 }, seed: 2, b: 1 }));
    assert.notEqual(seedlessKey({ a: 1, seed: 1 }), seedlessKey({ a: 2, seed: 1 }));
    assert.equal(configLabel({ model: { type: 'qornn', bits: 4, hidden: 128 }, task: { name: 'copy' } }), 'qornn 4-bit n=128 copy');
    assert.equal(configLabel({ model: { type: 'lstm', bits: null } }), 'lstm fp');
    assert.equal(configLabel({}), 'config');
  });

  it('parseIds: digits only, deduplicated, bounded', () => {
    assert.deepEqual(parseIds('3, 1,3'), [3, 1]);
    assert.throws(() => parseIds(''), /ids: expected a comma-separated list of trial ids, got nothing/);
    assert.throws(() => parseIds('1;DROP'), /ids: expected trial ids \(digits\), got '1;DROP'/);
    const many = Array.from({ length: MAX_CURVE_TRIALS + 1 }, (_, i) => i + 1).join(',');
    assert.throws(() => parseIds(many), new RegExp(`ids: at most ${MAX_CURVE_TRIALS} trials at once, got ${MAX_CURVE_TRIALS + 1}`));
  });

  it('size vs accuracy on a grid of hidden sizes (96 = 12·8, 128, 192 = 12·16): points named by n, ordered by size on the log axis', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orthoquant-sizes-'));
    const store = openStore(join(dir, 'sizes.db'));
    try {
      const models = [
        { type: 'hadamrnn', bits: 4, hidden: 192, size: 1_700, acc: 0.93 },
        { type: 'hadamrnn', bits: 4, hidden: 96, size: 700, acc: 0.9 },
        { type: 'hadamrnn', bits: 4, hidden: 128, size: 1_000, acc: 0.92 },
        { type: 'qornn', bits: 4, hidden: 128, size: 9_800, acc: 0.91 },
      ];
      const inputs = models.flatMap((m) => [0, 1].map((seed) => trialInput({ model: { type: m.type, bits: m.bits, hidden: m.hidden }, task: { name: 'pmnist' }, seed })));
      const { sweep } = registerSweep(store, { name: 'sizes', spec: 'name: sizes\n', specPath: 'experiments/sizes.yaml', fingerprint: 'sizes', trials: inputs });
      for (const m of models) {
        for (let seed = 0; seed < 2; seed++) finishTrial(store, claimTrial(store, { sweepId: sweep.id, workerId: 'w' })!, { test_accuracy: m.acc, size_bytes: m.size });
      }
      const { points } = scatterPoints(store, {});
      assert.deepEqual(points.map((p) => [p.family, p.label, p.sizeBytes, p.n]), [
        ['hadamrnn', 'n=192 4-bit', 1_700, 2], ['hadamrnn', 'n=96 4-bit', 700, 2], ['hadamrnn', 'n=128 4-bit', 1_000, 2], ['qornn', '4-bit', 9_800, 2],
      ]);
      const svg = scatterSvg(store, { where: 'params.model.type = hadamrnn' });
      const xs = [...svg.matchAll(/<g class="point" data-size="(\d+)"[^>]*><title>[^<]*<\/title><(?:circle|rect|path|polygon)[^>]*?(?:cx|x)="([\d.]+)"/g)].map((r) => [Number(r[1]), Number(r[2])]);
      assert.equal(xs.length, 3, svg);
      const bySize = [...xs].sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < bySize.length; i++) assert.ok(bySize[i][1] > bySize[i - 1][1], `size ${bySize[i][0]} right of ${bySize[i - 1][0]}`);
      for (const n of [96, 128, 192]) assert.match(svg, new RegExp(`>n=${n} 4-bit</text>`));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
