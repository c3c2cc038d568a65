// The curves view opens on a metric that has a curve; loss curves come out on a log axis.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openStore, registerSweep, claimTrial, recordMetrics, finishTrial } from '@orthoquant/store';
import { trialInput } from '@orthoquant/store/testing';
import { curves, curvesSvg, defaultCurveKey } from './index.js';
import { smallFixture, type FixtureDb } from './testing.js';

describe('curves: default metric and axis', () => {
  let fx: FixtureDb;
  before(() => {
    fx = smallFixture();
  });
  after(() => fx.cleanup());

  it('defaultCurveKey: the first preferred key with two points or more, else the longest curve', () => {
    assert.equal(defaultCurveKey(new Map([['val_accuracy', 1], ['loss', 200], ['test_accuracy', 1]])), 'loss');
    assert.equal(defaultCurveKey(new Map([['val_accuracy', 5], ['loss', 200]])), 'val_accuracy');
    assert.equal(defaultCurveKey(new Map([['val_accuracy', 1], ['grad_norm', 30], ['acc', 12]])), 'grad_norm');
    assert.equal(defaultCurveKey(new Map([['val_accuracy', 1], ['x', 1]])), 'val_accuracy', 'nothing has a curve: the preferred key anyway');
    assert.equal(defaultCurveKey(new Map()), undefined);
  });

  it('trials that record val_accuracy once (the quickstart) open on loss', () => {
    const s = openStore(fx.path);
    let ids: number[];
    try {
      registerSweep(s, { name: 'once', spec: '', fingerprint: 'once', trials: [trialInput({ once: 1, seed: 0 }), trialInput({ once: 1, seed: 1 })] });
      ids = [];
      for (;;) {
        const lease = claimTrial(s, { workerId: 'w' });
        if (!lease) break;
        const pts = Array.from({ length: 20 }, (_, step) => ({ key: 'loss', step, value: 2 / (1 + step) }));
        recordMetrics(s, lease, [...pts, { key: 'val_accuracy', step: 19, value: 0.9 }]);
        finishTrial(s, lease, {});
        ids.push(lease.trialId);
      }
    } finally {
      s.close();
    }
    const ro = openStore(fx.path, { readonly: true });
    try {
      const c = curves(ro, ids, undefined);
      assert.equal(c.key, 'loss');
      assert.ok(c.keys.includes('val_accuracy'));
      assert.match(curvesSvg(ro, ids, undefined), /class="axis y-axis" data-scale="log"/, 'a loss: log axis by default');
      assert.match(curvesSvg(ro, ids, 'val_accuracy'), /class="axis y-axis" data-scale="linear"/);
      assert.match(curvesSvg(ro, ids, 'loss', undefined, { logY: false }), /class="axis y-axis" data-scale="linear"/);
    } finally {
      ro.close();
    }
  });
});
