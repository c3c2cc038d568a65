import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeRatios, evaluateTargets, kernelText, renderMarkdown, writeResults } from './report.js';
import type { CaseResult } from './report.js';
import { syntheticCase, syntheticResults } from './testing.js';

const COPY_PEERS = { paper: 'paper', fused: ['tanh', 'relu'] };
const peer = (name: string, median: number) => syntheticCase(name, { group: 'peer', median, times: [median], min: median, max: median, kernel: { implementation: 'torch', simd: 'mkl', threads: 2 } });
const native = { implementation: 'native', simd: 'avx2+fma', threads: 2 };
const inference = (name: string, value: number, implementation = 'native') => syntheticCase(name, { group: 'inference', throughput: { value, unit: 'sequences/s' }, kernel: { ...native, implementation } });

/** Every case the targets read; `speed` scales our times (1: all met). */
function fullSet(speed: number, rss: number): CaseResult[] {
  return [
    syntheticCase('copy-hadamrnn', { median: 0.03 * speed, peers: COPY_PEERS, peakRssMB: rss, keptMB: 6.3, kernel: native }),
    syntheticCase('copy-hadamrnn-t10k', { median: 0.25 * speed, peakRssMB: rss * 1.05 }),
    syntheticCase('pmnist-hadamrnn', { group: 'train-pmnist', median: 0.1 * speed, peakRssMB: rss }),
    syntheticCase('copy-qornn', { median: 0.1 * speed, peakRssMB: rss, peers: { fused: COPY_PEERS.fused } }),
    syntheticCase('copy-lstm', { median: 0.4 * speed, peakRssMB: rss }),
    inference('infer-float-hadamrnn', 100, 'js'),
    inference('infer-int-hadamrnn', 120, 'js'),
    inference('infer-float-hadamrnn-native', 1000),
    inference('infer-int-hadamrnn-native', 1600),
    inference('infer-int-hadamrnn-native-6b', 2500),
    inference('infer-int-hadamrnn-native-8b', 2400),
    inference('infer-int-hadamrnn-native-10b', 1400),
    peer('paper', 3),
    peer('tanh', 0.6),
    peer('relu', 0.3),
  ];
}

test('ratios are ours / PyTorch: the paper-style peer, and the faster nn.RNN', () => {
  const cases = computeRatios(fullSet(1, 100));
  assert.equal(cases[0].ratios!.paper, 0.01);
  assert.equal(cases[0].ratios!.fused, 0.1);
  assert.equal(cases[0].ratios!.lstm, null);
  assert.equal(cases[3].ratios!.paper, null);
});

test('the targets of issue 13: met, not met, and the engine kind of the inference ratio', () => {
  const met = evaluateTargets(fullSet(1, 140));
  assert.deepEqual(met.map((t) => t.id), [
    'copy-hadamrnn-time', 'copy-hadamrnn-rss', 't10k-time', 't10k-rss', 'pmnist-hadamrnn-time', 'pmnist-hadamrnn-rss',
    'copy-qornn-time', 'copy-qornn-rss', 'copy-lstm-time', 'copy-lstm-rss', 'integer-inference',
    'integer-inference-6b', 'integer-inference-8b', 'integer-inference-10b',
  ]);
  // Each width on its own: 10 bits (1.4×) misses even though 6 and 8 bits pass.
  assert.deepEqual(met.map((t) => t.verdict), [...Array(11).fill('met'), 'met', 'met', 'not met']);
  assert.equal(met[10].value, 1.6);
  assert.match(met[10].detail, /native vs native 1\.60× \(judged\); JS vs JS 1\.20×/);
  assert.match(met[10].description, /12-bit activations/);
  assert.equal(met[11].value, 2.5);
  assert.match(met[13].detail, /native vs native 1\.40×/);
  assert.match(met[1].detail, /140 MB peak RSS; 6\.3 MB kept for backward/);
  const missed = evaluateTargets(fullSet(2, 300));
  assert.deepEqual(missed.map((t) => t.verdict), ['not met', 'not met', 'met', 'met', 'not met', 'not met', 'not met', 'not met', 'not met', 'met', 'met', 'met', 'met', 'not met']);
  // Without native inference results, the JS pair is judged.
  const jsOnly = evaluateTargets(fullSet(1, 100).map((c) => (c.name.endsWith('-native') ? { ...c, kernel: { implementation: 'js', simd: 'none', threads: 1, reason: 'no addon' } } : c)));
  assert.equal(jsOnly[10].value, 1.2);
  assert.equal(jsOnly[10].verdict, 'not met');
  assert.deepEqual(jsOnly.slice(11).map((t) => t.verdict), ['unknown', 'unknown', 'unknown'], 'the other widths are native rows only');
});

test('a missing peer shows as — and a missing case makes its targets unknown', () => {
  const cases = fullSet(1, 100).map((c) => (c.group === 'peer' ? { ...c, skipped: 'PyTorch not installed', median: null, min: null, max: null, times: [] } : c));
  const r = syntheticResults(cases.filter((c) => c.name !== 'copy-lstm'), { peer: { available: false, message: 'torch missing; apt-get install python3-torch libopenblas0-pthread' } });
  const t = evaluateTargets(r.cases);
  assert.equal(t.find((x) => x.id === 'copy-lstm-time')!.verdict, 'unknown');
  const md = renderMarkdown(r);
  assert.match(md, /PyTorch peer: not run — torch missing; apt-get install python3-torch/);
  const row = md.split('\n').find((l) => l.startsWith('| copy-hadamrnn |'))!;
  assert.match(row, /\| — \| — \| — \|$/);
  assert.match(md, /\| tanh \(skipped: PyTorch not installed\) \| n=128 B=128 T=1000 \| — \| — \| — \| — \|/);
  assert.match(md, /— unknown/);
});

test('writeResults writes the dated JSON with ratios and targets, and RESULTS.md with kernels, kept bytes, notes and load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
  try {
    const r = syntheticResults(fullSet(1, 100), { machine: { ...syntheticResults([]).machine, loadAverage: { start: [5, 4, 3], end: [6, 5, 4] } } });
    const p = writeResults(r, dir, '## Notes\n\nhand-written analysis');
    assert.equal(p.json, join(dir, 'results', '2026-01-02.json'));
    const j = JSON.parse(readFileSync(p.json, 'utf8'));
    assert.equal(j.cases[0].ratios.paper, 0.01);
    assert.equal(j.targets.length, 14);
    const md = readFileSync(p.markdown, 'utf8');
    assert.match(md, /## Targets \(issue 13\)/);
    assert.match(md, /load average .* at start: 5\.00 \/ 4\.00 \/ 3\.00.*shared and busy/);
    assert.match(md, /\| copy-hadamrnn \| n=128 B=128 T=1000 \| 0\.030 \| 1\.000–3\.000 \| 3 \| 100 \| 6\.3 \| native \(avx2\+fma, 2 threads\) \| 0\.01 \(ours 100\.0× faster\) \| 0\.10 \(ours 10\.0× faster\) \| — \|/);
    assert.match(md, /torch 2\.0 \(openblas\), 2 threads; ours 2 threads/);
    assert.match(md, /hand-written analysis\n$/);
    assert.match(md, /1600\.0 sequences\/s/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a peer run at a reduced T is scaled linearly to the case\'s T for the ratio', () => {
  const cases = computeRatios([
    syntheticCase('ours', { median: 1, peers: { paper: 'paper' } }),
    syntheticCase('paper', { group: 'peer', median: 0.5, shape: { n: 128, B: 128, T: 100 } }),
  ]);
  assert.equal(cases[0].ratios!.paper, 0.2);
});

test('kernel records say which implementation ran, and when a case fell back to JS', () => {
  assert.equal(kernelText({ implementation: 'native', simd: 'sse2', threads: 1 }), 'native (sse2, 1 thread)');
  assert.equal(kernelText({ implementation: 'js', simd: 'none', threads: 1, reason: 'native addon not built' }), 'JS — FELL BACK: native addon not built');
  assert.equal(kernelText({ implementation: 'js', simd: 'none', threads: 1, reason: 'JS implementation requested' }), 'JS');
  assert.equal(kernelText({ implementation: 'torch', simd: 'mkl', threads: 2 }), 'torch (2 threads, mkl)');
});
