import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { learningCurvesSvg, seedBand, sizeAccuracySvg, bitsAccuracySvg, niceTicks, logTicks, formatSi, escapeXml, noDataSvg } from '../index.js';
import { parseXml, byClass, findAll, textOf } from './xml-check.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} ≉ ${b}`);

describe('the test XML parser', () => {
  it('rejects malformed documents (so the plot tests can fail)', () => {
    assert.throws(() => parseXml('<svg><g></svg>'), /<\/svg> closes <g>/);
    assert.throws(() => parseXml('<svg a="1" a="2"/>'), /duplicate attribute 'a'/);
    assert.throws(() => parseXml('<svg>a & b</svg>'), /bare '&'/);
    assert.throws(() => parseXml('<svg>&nbsp;</svg>'), /unknown entity/);
    assert.throws(() => parseXml('<svg/><svg/>'), /content after the root/);
    assert.throws(() => parseXml('<svg x=1/>'), /quoted value/);
    assert.equal(parseXml('<?xml version="1.0"?><a t="&lt;&#65;"><b>x &amp; y</b></a>').children[0].text, 'x & y');
  });
});

describe('ticks', () => {
  it('chooses 1/2/2.5/5 × 10^k steps covering the range', () => {
    const t = niceTicks(0.013, 0.968, 6);
    assert.equal(t.step, 0.2);
    assert.deepEqual(t.ticks, [0, 0.2, 0.4, 0.6, 0.8, 1]);
    assert.deepEqual(niceTicks(0, 1000, 5).ticks, [0, 250, 500, 750, 1000]);
    assert.deepEqual(niceTicks(-3, 7, 6).ticks, [-4, -2, 0, 2, 4, 6, 8]);
    const flat = niceTicks(5, 5);
    assert.ok(flat.domain[0] < 5 && flat.domain[1] > 5, 'a constant series still gets a range');
    assert.throws(() => niceTicks(0, Infinity), /niceTicks: expected finite bounds, got \[0, Infinity\]/);
  });

  it('log ticks: decades, with 2 and 5 when the range is short', () => {
    assert.deepEqual(logTicks(120, 3.4e6).ticks, [100, 1000, 1e4, 1e5, 1e6, 1e7]);
    assert.deepEqual(logTicks(150, 4000).ticks, [100, 200, 500, 1000, 2000, 5000, 10000]);
    assert.deepEqual(logTicks(300, 300).domain, [100, 1000]);
    assert.throws(() => logTicks(0, 10), /logTicks: expected positive finite bounds, got \[0, 10\]/);
    assert.equal(formatSi(1500), '1.5k');
    assert.equal(formatSi(2e6), '2M');
    assert.equal(formatSi(0.25), '0.25');
  });
});

describe('seed bands', () => {
  it('mean and sample std per step over the union of steps, skipping NaN/null', () => {
    const b = seedBand([
      { steps: [0, 10, 20], values: [1, 2, 3] },
      { steps: [0, 10, 20], values: [3, null, 5] },
      { steps: [0, 30], values: [2, NaN] },
    ]);
    assert.deepEqual(b.steps, [0, 10, 20]);
    assert.deepEqual(b.n, [3, 1, 2]);
    close(b.mean[0], 2);
    close(b.std[0], 1);
    assert.equal(b.std[1], 0, 'one run: no spread');
    close(b.mean[2], 4);
    close(b.std[2], Math.SQRT2);
    assert.throws(() => seedBand([{ steps: [1, 2], values: [1] }]), /seedBand: steps and values differ in length \(2 vs 1\)/);
  });
});

describe('learning curves', () => {
  const runs = (offset: number) => [0, 1, 2].map((seed) => ({ steps: [0, 100, 200, 300], values: [1 + offset, 0.5 + offset + seed * 0.01, 0.3 + offset, 0.2 + offset] }));

  it('draws one line and one band per configuration, plus the baseline line', () => {
    const svg = learningCurvesSvg({
      title: 'Copy task <T=1000> & friends',
      yLabel: 'cross-entropy',
      series: [
        { label: 'HadamRNN 4-bit', runs: runs(0) },
        { label: 'QORNN "5-bit"', runs: runs(0.1) },
        { label: 'LSTM (one seed)', runs: [{ steps: [0, 300], values: [2, 1] }] },
      ],
      reference: { value: 0.095, label: 'memoryless baseline' },
    });
    const doc = parseXml(svg);
    assert.equal(doc.name, 'svg');
    assert.equal(doc.attrs.role, 'img');
    const series = byClass(doc, 'series');
    assert.deepEqual(
      series.map((s) => s.attrs['data-label']),
      ['HadamRNN 4-bit', 'QORNN "5-bit"', 'LSTM (one seed)'],
    );
    assert.deepEqual(series.map((s) => s.attrs['data-points']), ['4', '4', '2']);
    assert.equal(byClass(doc, 'line').length, 3);
    assert.equal(byClass(doc, 'band').length, 2, 'a single run has no band');
    const ref = byClass(doc, 'reference');
    assert.equal(ref.length, 1);
    assert.equal(ref[0].attrs['data-value'], '0.095');
    assert.match(textOf(ref[0]), /memoryless baseline/);
    const title = findAll(doc, (e) => e.name === 'title')[0];
    assert.equal(title.text, 'Copy task <T=1000> & friends', 'labels are escaped, then read back intact');
    assert.match(findAll(doc, (e) => e.name === 'desc')[0].text, /3 configurations.*memoryless baseline at 0\.095/);
    assert.match(textOf(byClass(doc, 'legend')[0]), /HadamRNN 4-bit \(n=3\)/);
    // The baseline lies inside the y axis even though every curve is above it.
    const yTicks = byClass(byClass(doc, 'y-axis')[0], 'tick').map((t) => Number(t.attrs['data-value']));
    assert.ok(Math.min(...yTicks) <= 0.095);
  });

  it('thins long curves to maxPoints and keeps the last step', () => {
    const steps = Array.from({ length: 5000 }, (_, i) => i);
    const svg = learningCurvesSvg({ series: [{ label: 'long', runs: [{ steps, values: steps.map((s) => 1 / (1 + s)) }] }], maxPoints: 100 });
    const doc = parseXml(svg);
    const d = byClass(doc, 'line')[0].attrs.d;
    assert.equal((d.match(/[ML]/g) ?? []).length, 100);
    // The last point drawn is step 4999: interpolate its pixel from the axis ticks 0 and 5000.
    const tickX = (v: number) => Number(findAll(byClass(doc, 'x-axis')[0], (e) => e.attrs.class === 'tick' && e.attrs['data-value'] === String(v))[0].children[0].attrs.x1);
    const want = tickX(0) + (4999 / 5000) * (tickX(5000) - tickX(0));
    const last = Number(/L([\d.]+) [\d.]+$/.exec(d)![1]);
    close(last, want, 0.01);
  });

  it('log y axis ticks are powers of ten', () => {
    const svg = learningCurvesSvg({ logY: true, series: [{ label: 'loss', runs: [{ steps: [1, 2, 3], values: [10, 0.5, 0.02] }] }] });
    const doc = parseXml(svg);
    const axis = byClass(doc, 'y-axis')[0];
    assert.equal(axis.attrs['data-scale'], 'log');
    const ticks = byClass(axis, 'tick').map((t) => Number(t.attrs['data-value']));
    assert.deepEqual(ticks, [0.01, 0.1, 1, 10]);
  });

  it('empty input gives a clear "no data" SVG', () => {
    for (const svg of [learningCurvesSvg({ series: [] }), learningCurvesSvg({ series: [{ label: 'nan', runs: [{ steps: [1], values: [null] }] }] })]) {
      const doc = parseXml(svg);
      assert.equal(byClass(doc, 'series').length, 0);
      assert.match(textOf(byClass(doc, 'no-data')[0]), /no (data|finite values to plot)/);
      assert.match(findAll(doc, (e) => e.name === 'title')[0].text, /Learning curves: no/);
    }
  });
});

describe('size vs accuracy', () => {
  const points = [
    { family: 'HadamRNN', label: '1-bit', sizeBytes: 2_100, accuracy: 0.975 },
    { family: 'HadamRNN', label: '2-bit', sizeBytes: 3_900, accuracy: 0.981 },
    { family: 'QORNN', label: '4-bit', sizeBytes: 9_800, accuracy: 0.962 },
    { family: 'LSTM <fp32>', label: 'fp32', sizeBytes: 1_250_000, accuracy: 0.989 },
  ];

  it('one series per family, one marker per point, labels, log x ticks', () => {
    const doc = parseXml(sizeAccuracySvg({ points }));
    const series = byClass(doc, 'series');
    assert.deepEqual(series.map((s) => s.attrs['data-label']), ['HadamRNN', 'QORNN', 'LSTM <fp32>']);
    assert.deepEqual(series.map((s) => byClass(s, 'point').length), [2, 1, 1]);
    assert.deepEqual(byClass(doc, 'point-label').map((e) => e.text), ['1-bit', '2-bit', '4-bit', 'fp32']);
    const axis = byClass(doc, 'x-axis')[0];
    assert.equal(axis.attrs['data-scale'], 'log');
    const ticks = byClass(axis, 'tick');
    assert.deepEqual(ticks.map((t) => Number(t.attrs['data-value'])), [1e3, 1e4, 1e5, 1e6, 1e7]);
    assert.deepEqual(ticks.map((t) => textOf(t)), ['1k', '10k', '100k', '1M', '10M']);
    // Larger size → further right, on a log scale: equal ratios give equal distances.
    const xs = byClass(doc, 'point').map((p) => Number(findAll(p, (e) => e.name === 'circle' || e.name === 'rect' || e.name === 'path')[0].attrs.cx ?? NaN));
    assert.ok(xs[0] < xs[1], 'HadamRNN 1-bit left of 2-bit');
    assert.equal(byClass(doc, 'legend-item').length, 3);
  });

  it('drops points that cannot sit on a log axis; nothing left → no data', () => {
    const doc = parseXml(sizeAccuracySvg({ points: [...points, { family: 'bad', sizeBytes: 0, accuracy: 0.5 }] }));
    assert.equal(byClass(doc, 'point').length, 4);
    const empty = parseXml(sizeAccuracySvg({ points: [{ family: 'bad', sizeBytes: 0, accuracy: 0.5 }] }));
    assert.match(textOf(byClass(empty, 'no-data')[0]), /no point with a positive size/);
    assert.match(textOf(byClass(parseXml(sizeAccuracySvg({ points: [] })), 'no-data')[0]), /^no data$/);
  });
});

describe('bits vs accuracy', () => {
  it('one line per family sorted by bits, error bars where std > 0', () => {
    const svg = bitsAccuracySvg({
      series: [
        { family: 'QORNN', points: [{ bits: 8, accuracy: 0.97, std: 0.004 }, { bits: 3, accuracy: 0.9, std: 0.02 }, { bits: 4, accuracy: 0.94 }] },
        { family: 'HadamRNN', points: [{ bits: 4, accuracy: 0.96 }] },
        { family: 'empty', points: [] },
      ],
    });
    const doc = parseXml(svg);
    const series = byClass(doc, 'series');
    assert.equal(series.length, 2, 'a family without points is left out');
    assert.deepEqual(byClass(series[0], 'point').map((p) => Number(p.attrs['data-bits'])), [3, 4, 8]);
    assert.equal(byClass(doc, 'error-bar').length, 2);
    assert.equal(byClass(doc, 'line').length, 2);
    assert.match(textOf(byClass(parseXml(bitsAccuracySvg({ series: [] })), 'no-data')[0]), /no data/);
  });
});

describe('svg basics', () => {
  it('escapes the five XML specials', () => {
    assert.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
  it('plots of different titles have different ids', () => {
    const a = parseXml(noDataSvg({ title: 'A' }));
    const b = parseXml(noDataSvg({ title: 'B' }));
    assert.notEqual(findAll(a, (e) => e.name === 'title')[0].attrs.id, findAll(b, (e) => e.name === 'title')[0].attrs.id);
    assert.throws(() => noDataSvg({ width: 10 }), /plot: expected width ≥ 200 and height ≥ 150, got 10×420/);
  });
});
