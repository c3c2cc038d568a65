import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeRatios, evaluateTargets, renderMarkdown, writeResults } from './report.js';
import { syntheticCase, syntheticResults } from './testing.js';

const COPY_PEERS = { fused: ['tanh', 'relu'], loop: 'loop' };
const peer = (name: string, median: number) => syntheticCase(name, { group: 'peer', median, times: [median], min: median, max: median });

function fullSet(hadamMedian: number, denseMedian: number, rss: number) {
  return [
    syntheticCase('copy-hadamrnn', { median: hadamMedian, peers: COPY_PEERS, peakRssMB: rss }),
    syntheticCase('copy-qornn', { median: denseMedian, peers: COPY_PEERS }),
    syntheticCase('infer-float-dense', { group: 'inference', throughput: { value: 10, unit: 'sequences/s' } }),
    syntheticCase('infer-int-hadamrnn', { group: 'inference', throughput: { value: 60, unit: 'sequences/s' } }),
    peer('tanh', 3),
    peer('relu', 2),
    peer('loop', 4),
  ];
}

test('ratios are ours / PyTorch against the faster fused peer, and the per-step loop', () => {
  const cases = computeRatios(fullSet(0.1, 1, 100));
  assert.equal(cases[0].ratios!.fused, 0.05);
  assert.equal(cases[0].ratios!.loop, 0.025);
  assert.equal(cases[0].ratios!.lstm, null);
});

test('targets met and not met', () => {
  const met = evaluateTargets(fullSet(0.1, 0.5, 180));
  assert.deepEqual(met.map((t) => t.verdict), ['met', 'met', 'met', 'met']);
  assert.equal(met[0].value, 20);
  const missed = evaluateTargets([...fullSet(0.5, 1, 180).slice(0, 2), syntheticCase('copy-lstm', { peakRssMB: 250 }), ...fullSet(0, 0, 0).slice(2)]);
  assert.deepEqual(missed.map((t) => t.verdict), ['not met', 'not met', 'not met', 'met']);
  assert.match(missed[2].detail, /copy-lstm, 250 MB/);
  assert.equal(missed[0].value, 4);
});

test('a missing peer shows as — and its targets as unknown', () => {
  const cases = fullSet(0.1, 0.5, 100).map((c) => (c.group === 'peer' ? { ...c, skipped: 'PyTorch not installed', median: null, min: null, max: null, times: [] } : c));
  const r = syntheticResults(cases, { peer: { available: false, message: 'torch missing; apt-get install python3-torch libopenblas0-pthread' } });
  const t = evaluateTargets(r.cases);
  assert.deepEqual(t.map((x) => x.verdict), ['unknown', 'unknown', 'met', 'met']);
  const md = renderMarkdown(r);
  assert.match(md, /PyTorch peer: not run — torch missing; apt-get install python3-torch/);
  const row = md.split('\n').find((l) => l.startsWith('| copy-hadamrnn |'))!;
  assert.match(row, /\| — \| — \| — \|$/);
  assert.match(md, /\| tanh \(skipped: PyTorch not installed\) \| n=128 B=128 T=1000 \| — \| — \| — \| — \|/);
  assert.match(md, /— unknown/);
});

test('writeResults writes the dated JSON with ratios and targets, and RESULTS.md with notes and load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const r = syntheticResults(fullSet(0.1, 1, 100), { machine: { ...syntheticResults([]).machine, loadAverage: { start: [5, 4, 3], end: [6, 5, 4] } } });
    const p = writeResults(r, dir, '## Notes\n\nhand-written analysis');
    assert.equal(p.json, join(dir, 'results', '2026-01-02.json'));
    const j = JSON.parse(readFileSync(p.json, 'utf8'));
    assert.equal(j.cases[0].ratios.fused, 0.05);
    assert.deepEqual(j.targets.map((t: { verdict: string }) => t.verdict), ['met', 'not met', 'met', 'met']);
    const md = readFileSync(p.markdown, 'utf8');
    assert.match(md, /load average .* at start: 5\.00 \/ 4\.00 \/ 3\.00.*shared and busy/);
    assert.match(md, /\| copy-hadamrnn \| n=128 B=128 T=1000 \| 0\.100 \| 1\.000–3\.000 \| 3 \| 100 \| 0\.05 \(ours 20\.0× faster\)/);
    assert.match(md, /\| copy-qornn .*\| 0\.50 \(ours 2\.0× faster\)/);
    assert.match(md, /❌ not met/);
    assert.match(md, /hand-written analysis\n$/);
    assert.match(md, /60\.0 sequences\/s/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a peer run at a reduced T is scaled linearly to the case\'s T for the ratio', () => {
  const cases = computeRatios([
    syntheticCase('ours', { median: 1, peers: { loop: 'loop' } }),
    syntheticCase('loop', { group: 'peer', median: 0.5, shape: { n: 128, B: 128, T: 100 } }),
  ]);
  assert.equal(cases[0].ratios!.loop, 0.2);
});
