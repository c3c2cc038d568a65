/**
 * The result file (`benchmarks/results/<date>.json`) and its readable rendering
 * (`benchmarks/RESULTS.md`): tables, ratios ours / PyTorch, and the speed and memory targets
 * (`evaluateTargets`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ratio } from './stats.js';

export type CaseGroup = 'baseline' | 'train-copy' | 'train-pmnist' | 'floor' | 'inference' | 'sweep' | 'peer';

export interface Shape {
  n: number;
  B: number;
  T: number;
}

export interface CaseResult {
  name: string;
  group: CaseGroup;
  label: string;
  shape: Shape | null;
  /** Wall time of each timed run, seconds (one training iteration, one forward pass, one sweep). */
  times: number[];
  median: number | null;
  min: number | null;
  max: number | null;
  /** Peak RSS of the process that ran the case (MB). */
  peakRssMB: number | null;
  /** Throughput at the median (inference: sequences/s; sweep: trials/min). */
  throughput?: { value: number; unit: string } | null;
  /** Extra facts (batch, reduced shape, BLAS, …). */
  notes?: string[];
  /** Set when the case did not run (peer missing, error). */
  skipped?: string;
  /** For ours vs peer: the peer cases this case is compared with, by role. */
  peers?: { fused?: string[]; loop?: string; lstm?: string };
  /** Filled by `computeRatios`: ours / PyTorch (median over median; < 1 = ours faster). */
  ratios?: { fused: number | null; loop: number | null; lstm: number | null };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGB: number;
  loadAverage: { start: number[]; end: number[] };
  os: string;
  node: string;
  tfjs: string;
  backend: string;
  kernel: { implementation: string; simd: string; threads: number | string };
  torch: string | null;
  torchBlas: string | null;
  torchThreads: number | null;
}

export interface BenchResults {
  date: string;
  startedAt: string;
  durationSeconds: number;
  quick: boolean;
  reps: number;
  machine: MachineInfo;
  peer: { available: boolean; message: string };
  cases: CaseResult[];
  targets?: TargetStatus[];
}

export type Verdict = 'met' | 'not met' | 'unknown';

export interface TargetStatus {
  id: string;
  description: string;
  /** The measured value in the target's terms (speed-up ×, MB, ×), or null when unknown. */
  value: number | null;
  threshold: string;
  verdict: Verdict;
  detail: string;
}

/** The peer a training case's "nn.RNN" ratio uses: the faster of the fused tanh/ReLU runs. */
function bestPeer(byName: Map<string, CaseResult>, names: string[] | undefined): CaseResult | null {
  let best: CaseResult | null = null;
  for (const n of names ?? []) {
    const c = byName.get(n);
    if (c && !c.skipped && c.median !== null && (best === null || c.median < (best.median as number))) best = c;
  }
  return best;
}

/** A peer's median, scaled linearly to `T` when the peer ran at a reduced length. */
function peerMedian(byName: Map<string, CaseResult>, name: string | undefined, T: number | undefined): number | null {
  if (!name) return null;
  const c = byName.get(name);
  if (!c || c.skipped || c.median === null) return null;
  return T !== undefined && c.shape && c.shape.T > 0 && c.shape.T !== T ? (c.median * T) / c.shape.T : c.median;
}

/** Fill `ratios` of every case that names peers (returns the same array). */
export function computeRatios(cases: CaseResult[]): CaseResult[] {
  const byName = new Map(cases.map((c) => [c.name, c]));
  for (const c of cases) {
    if (!c.peers) continue;
    const mine = c.skipped ? null : c.median;
    c.ratios = {
      fused: ratio(mine, bestPeer(byName, c.peers.fused)?.median),
      loop: ratio(mine, peerMedian(byName, c.peers.loop, c.shape?.T)),
      lstm: ratio(mine, peerMedian(byName, c.peers.lstm, c.shape?.T)),
    };
  }
  return cases;
}

const verdictOf = (ok: boolean | null): Verdict => (ok === null ? 'unknown' : ok ? 'met' : 'not met');

/** The speed and memory targets (fused training faster than PyTorch's, memory bounded), judged on the results. */
export function evaluateTargets(cases: CaseResult[]): TargetStatus[] {
  computeRatios(cases);
  const byName = new Map(cases.map((c) => [c.name, c]));
  const speedup = (name: string): number | null => {
    const r = byName.get(name)?.ratios?.fused;
    return r === null || r === undefined ? null : 1 / r;
  };
  const out: TargetStatus[] = [];
  const had = speedup('copy-hadamrnn');
  out.push({
    id: 'hadamrnn-speed',
    description: 'HadamRNN copy-task iteration ≥ 10× faster than PyTorch nn.RNN (same shape)',
    value: had,
    threshold: '≥ 10×',
    verdict: verdictOf(had === null ? null : had >= 10),
    detail: had === null ? 'no PyTorch nn.RNN or HadamRNN result' : `${had.toFixed(2)}× (PyTorch / ours, medians)`,
  });
  const dense = speedup('copy-qornn');
  out.push({
    id: 'dense-speed',
    description: 'dense QORNN (STE-Björck) copy-task iteration ≥ 3× faster than PyTorch nn.RNN',
    value: dense,
    threshold: '≥ 3×',
    verdict: verdictOf(dense === null ? null : dense >= 3),
    detail: dense === null ? 'no PyTorch nn.RNN or dense QORNN result' : `${dense.toFixed(2)}× (PyTorch / ours, medians)`,
  });
  const copy = cases.filter((c) => c.group === 'train-copy' && !c.skipped && c.peakRssMB !== null);
  const worst = copy.length ? copy.reduce((a, b) => ((b.peakRssMB as number) > (a.peakRssMB as number) ? b : a)) : null;
  out.push({
    id: 'copy-rss',
    description: 'peak RSS ≤ 200 MB for every case of the copy-task shape (case 1)',
    value: worst ? worst.peakRssMB : null,
    threshold: '≤ 200 MB',
    verdict: verdictOf(worst === null ? null : (worst.peakRssMB as number) <= 200),
    detail: worst ? `largest: ${worst.label}, ${(worst.peakRssMB as number).toFixed(0)} MB (${copy.length} cases)` : 'no copy-task case ran',
  });
  const intHad = byName.get('infer-int-hadamrnn');
  const floatDense = byName.get('infer-float-dense');
  const tIn = intHad && !intHad.skipped ? (intHad.throughput?.value ?? null) : null;
  const tFd = floatDense && !floatDense.skipped ? (floatDense.throughput?.value ?? null) : null;
  const inf = ratio(tIn, tFd);
  out.push({
    id: 'integer-inference',
    description: 'integer-only HadamRNN inference ≥ 5× the throughput of float dense inference',
    value: inf,
    threshold: '≥ 5×',
    verdict: verdictOf(inf === null ? null : inf >= 5),
    detail: inf === null ? 'an inference case is missing' : `${inf.toFixed(2)}× (${tIn!.toFixed(1)} vs ${tFd!.toFixed(1)} sequences/s)`,
  });
  return out;
}

const DASH = '—';
const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? DASH : x.toFixed(digits));
const fmtRatio = (r: number | null | undefined): string => (r === null || r === undefined ? DASH : `${r.toFixed(2)} (${r <= 1 ? `ours ${(1 / r).toFixed(1)}× faster` : `ours ${r.toFixed(1)}× slower`})`);
const shapeText = (s: Shape | null): string => (s ? `n=${s.n} B=${s.B} T=${s.T}` : DASH);
const cell = (s: string): string => s.replace(/\|/g, '\\|');

function timeCells(c: CaseResult): string[] {
  if (c.skipped) return [DASH, DASH, DASH, DASH];
  return [fmt(c.median), `${fmt(c.min)}–${fmt(c.max)}`, String(c.times.length), fmt(c.peakRssMB, 0)];
}

/** RESULTS.md: the readable view of one result file. `extraNotes` go verbatim at the end. */
export function renderMarkdown(r: BenchResults, extraNotes = ''): string {
  const cases = computeRatios(r.cases.map((c) => ({ ...c })));
  const targets = r.targets ?? evaluateTargets(cases);
  const m = r.machine;
  const L: string[] = [];
  L.push(`# Benchmark results — ${r.date}${r.quick ? ' (QUICK smoke run: tiny shapes, numbers are meaningless)' : ''}`);
  L.push('');
  L.push('Generated by `npm run bench` (packages/bench); the raw numbers are in `benchmarks/results/' + r.date + '.json`.');
  L.push('A training iteration is forward + backward + optimizer step on one batch; every case ran in its own process (peak RSS is that process\'s `maxRSS`), ' + `median of ${r.reps} timed run(s) after one warm-up.`);
  L.push('');
  L.push('## Machine');
  L.push('');
  L.push(`- CPU: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGB.toFixed(1)} GB RAM, ${m.os}`);
  L.push(`- load average (1/5/15 min) at start: ${m.loadAverage.start.map((x) => x.toFixed(2)).join(' / ')}, at end: ${m.loadAverage.end.map((x) => x.toFixed(2)).join(' / ')}` + (m.loadAverage.start[0] > m.cores * 0.5 ? ' — **the machine was shared and busy: absolute times are inflated and noisy**' : ''));
  L.push(`- node ${m.node}, tfjs ${m.tfjs} (backend ${m.backend}), kernels: ${m.kernel.implementation} (${m.kernel.simd}, ${m.kernel.threads} threads)`);
  L.push(`- PyTorch peer: ${r.peer.available ? `torch ${m.torch ?? DASH} (${m.torchBlas ?? '?'}, ${m.torchThreads ?? '?'} threads)` : `not run — ${r.peer.message}`}`);
  L.push(`- total bench time: ${r.durationSeconds.toFixed(0)} s`);
  L.push('');
  L.push('## Targets');
  L.push('');
  L.push('| target | threshold | measured | verdict |');
  L.push('|---|---|---|---|');
  for (const t of targets) L.push(`| ${cell(t.description)} | ${t.threshold} | ${cell(t.detail)} | ${t.verdict === 'met' ? '✅ met' : t.verdict === 'not met' ? '❌ not met' : '— unknown'} |`);
  L.push('');
  const trainTable = (group: CaseGroup, title: string) => {
    const rows = cases.filter((c) => c.group === group);
    if (!rows.length) return;
    L.push(`## ${title}`);
    L.push('');
    L.push('| case | shape | median (s) | min–max (s) | runs | peak RSS (MB) | ours / nn.RNN (fused, best of tanh/ReLU) | ours / per-step loop (scaled to T when the loop ran reduced) | ours / nn.LSTM |');
    L.push('|---|---|---|---|---|---|---|---|---|');
    for (const c of rows) {
      const label = c.skipped ? `${c.label} (skipped: ${c.skipped})` : c.label;
      L.push(`| ${cell(label)} | ${shapeText(c.shape)} | ${timeCells(c).join(' | ')} | ${fmtRatio(c.ratios?.fused)} | ${fmtRatio(c.ratios?.loop)} | ${fmtRatio(c.ratios?.lstm)} |`);
    }
    L.push('');
  };
  trainTable('train-copy', 'Case 1 — copy-task shape, training iteration');
  trainTable('train-pmnist', 'Case 2 — pMNIST shape, training iteration');
  const simple = (groups: CaseGroup[], title: string, withThroughput: boolean) => {
    const rows = cases.filter((c) => groups.includes(c.group));
    if (!rows.length) return;
    L.push(`## ${title}`);
    L.push('');
    L.push(`| case | shape | median (s) | min–max (s) | runs | peak RSS (MB) |${withThroughput ? ' throughput |' : ''} notes |`);
    L.push(`|---|---|---|---|---|---|${withThroughput ? '---|' : ''}---|`);
    for (const c of rows) {
      const label = c.skipped ? `${c.label} (skipped: ${c.skipped})` : c.label;
      const tp = c.throughput && !c.skipped ? `${c.throughput.value.toFixed(1)} ${c.throughput.unit}` : DASH;
      L.push(`| ${cell(label)} | ${shapeText(c.shape)} | ${timeCells(c).join(' | ')} |${withThroughput ? ` ${tp} |` : ''} ${cell((c.notes ?? []).join('; ')) || DASH} |`);
    }
    L.push('');
  };
  simple(['inference'], 'Case 3 — inference, float vs integer-only engines', true);
  simple(['sweep'], 'Case 4 — sweep throughput', true);
  simple(['floor'], 'The floor we left: unfused tfjs, one op per time step', false);
  simple(['peer'], 'PyTorch peer (same run, same machine)', false);
  simple(['baseline'], 'Baseline process', false);
  if (extraNotes.trim()) {
    L.push(extraNotes.trim());
    L.push('');
  }
  return L.join('\n').trimEnd();
}

/** Write `<outDir>/results/<date>.json` and `<outDir>/RESULTS.md`; returns both paths. */
export function writeResults(r: BenchResults, outDir: string, extraNotes = ''): { json: string; markdown: string } {
  const cases = computeRatios(r.cases);
  const full: BenchResults = { ...r, cases, targets: evaluateTargets(cases) };
  mkdirSync(join(outDir, 'results'), { recursive: true });
  const json = join(outDir, 'results', `${r.date}.json`);
  writeFileSync(json, JSON.stringify(full, null, 2) + '\n');
  const markdown = join(outDir, 'RESULTS.md');
  writeFileSync(markdown, renderMarkdown(full, extraNotes) + '\n');
  return { json, markdown };
}
