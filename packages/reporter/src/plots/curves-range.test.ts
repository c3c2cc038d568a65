// Learning curves that read right: bands inside the data's range (a loss band never dips
// below zero), a metric recorded once drawn as a marker, the baseline named in the legend and
// never written over the curves.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { learningCurvesSvg, seedBand, bandLow, bandHigh, isLossLike } from '../index.js';
import { parseXml, byClass, findAll } from './xml-check.js';

describe('learning curves: range, markers, baseline', () => {
  it('the band is mean ± std clipped to the runs’ own range at each step', () => {
    // two seeds: 0.01 and 1.0 → mean 0.505, std 0.70: mean − std < 0 < every value
    const b = seedBand([
      { steps: [0, 1], values: [0.01, 0.5] },
      { steps: [0, 1], values: [1.0, 0.5] },
    ]);
    assert.deepEqual([b.min, b.max], [[0.01, 0.5], [1, 0.5]]);
    assert.ok(b.mean[0] - b.std[0] < 0);
    assert.equal(bandLow(b, 0), 0.01);
    assert.equal(bandHigh(b, 0), 1);
    assert.deepEqual([bandLow(b, 1), bandHigh(b, 1)], [0.5, 0.5]);
  });

  it('a loss band on a linear axis stays above zero: the y axis starts at or above 0', () => {
    const svg = learningCurvesSvg({ series: [{ label: 'x', runs: [{ steps: [0, 1, 2], values: [0.01, 0.2, 0.01] }, { steps: [0, 1, 2], values: [1.5, 0.3, 0.02] }] }] });
    const ticks = byClass(byClass(parseXml(svg), 'y-axis')[0], 'tick').map((t) => Number(t.attrs['data-value']));
    assert.ok(Math.min(...ticks) >= 0, `y ticks ${ticks.join(', ')}`);
  });

  it('a curve of one point is a marker; the baseline is in the legend, with no text over the plot', () => {
    const svg = learningCurvesSvg({
      series: [
        { label: 'curve', runs: [{ steps: [0, 10, 20], values: [2, 1, 0.5] }] },
        { label: 'once', runs: [{ steps: [20], values: [0.7] }] },
      ],
      reference: { value: 0.3, label: 'memoryless baseline' },
    });
    const doc = parseXml(svg);
    assert.equal(byClass(doc, 'point').length, 1, 'one marker, for the single point');
    const ref = byClass(doc, 'reference')[0];
    assert.equal(findAll(ref, (e) => e.name === 'text').length, 0, 'no label drawn over the curves');
    assert.match(findAll(byClass(doc, 'legend')[0], (e) => e.name === 'text').map((t) => t.text).join('|'), /memoryless baseline/);
  });

  it('losses, bpc and perplexities are loss-like (log axis by default), accuracies are not', () => {
    for (const k of ['loss', 'val_loss', 'test_loss', 'int_test_loss', 'val_bpc', 'perplexity']) assert.ok(isLossLike(k), k);
    for (const k of ['val_accuracy', 'test_copyAccuracy', 'lossless_bits', undefined]) assert.ok(!isLossLike(k), String(k));
  });
});
