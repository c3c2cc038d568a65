/**
 * The result file (`benchmarks/results/<date>.json`) and its readable rendering
 * (`benchmarks/RESULTS.md`): tables, ratios ours / PyTorch, the targets of issue 13.
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

/** Which kernels a case ran on: native or JS, the instruction set, threads, why not native. */
export interface KernelRecord {
  implementation: string;
  simd: string;
  threads: number | string;
  reason?: string;
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
  /** The kernels that ran (our cases) or torch's threads (peers: implementation 'torch'). */
  kernel?: KernelRecord;
  /** Bytes of tensors kept for the backward pass of one iteration, MB (training cases, peers). */
  keptMB?: number | null;
  /**
   * For ours vs peer: the peer cases this case is compared with, by role — `paper`: the same
   * model written as the papers' code writes it; `fused`: nn.RNN (a different algorithm); `lstm`.
   */
  peers?: { paper?: string; fused?: string[]; lstm?: string };
  /** Filled by `computeRatios`: ours / PyTorch (median over median; < 1 = ours faster). */
  ratios?: { paper: number | null; fused: number | null; lstm: number | null };
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
      paper: ratio(mine, peerMedian(byName, c.peers.paper, c.shape?.T)),
      fused: ratio(mine, bestPeer(byName, c.peers.fused)?.median),
      lstm: ratio(mine, peerMedian(byName, c.peers.lstm, c.shape?.T)),
    };
  }
  return cases;
}

const verdictOf = (ok: boolean | null): Verdict => (ok === null ? 'unknown' : ok ? 'met' : 'not met');

/** A usable result of a case (ran, has a median), or null. */
function ran(byName: Map<string, CaseResult>, name: string): CaseResult | null {
  const c = byName.get(name);
  return c && !c.skipped && c.median !== null ? c : null;
}

function timeTarget(byName: Map<string, CaseResult>, id: string, name: string, description: string, maxSeconds: number): TargetStatus {
  const c = ran(byName, name);
  return {
    id,
    description,
    value: c?.median ?? null,
    threshold: `≤ ${maxSeconds} s`,
    verdict: verdictOf(c ? (c.median as number) <= maxSeconds : null),
    detail: c ? `${(c.median as number).toFixed(3)} s (median of ${c.times.length}${c.kernel ? `; ${kernelText(c.kernel)}` : ''})` : `no ${name} result`,
  };
}

function rssTarget(byName: Map<string, CaseResult>, id: string, name: string, description: string, maxMB: number): TargetStatus {
  const c = ran(byName, name);
  const rss = c?.peakRssMB ?? null;
  return {
    id,
    description,
    value: rss,
    threshold: `≤ ${maxMB} MB`,
    verdict: verdictOf(rss === null ? null : rss <= maxMB),
    detail: rss === null ? `no ${name} result` : `${rss.toFixed(0)} MB peak RSS` + (c?.keptMB !== null && c?.keptMB !== undefined ? `; ${c.keptMB.toFixed(1)} MB kept for backward` : ''),
  };
}

/** Activation widths of the extra integer-inference rows (besides the 12-bit headline). */
export const INFERENCE_WIDTHS = [6, 8, 10] as const;

/** The targets of issue 13, judged on the results (one row per time or memory threshold). */
export function evaluateTargets(cases: CaseResult[]): TargetStatus[] {
  computeRatios(cases);
  const byName = new Map(cases.map((c) => [c.name, c]));
  const out: TargetStatus[] = [];
  out.push(timeTarget(byName, 'copy-hadamrnn-time', 'copy-hadamrnn', 'HadamRNN copy iteration, n=128 B=128 T=1000: time', 0.035));
  out.push(rssTarget(byName, 'copy-hadamrnn-rss', 'copy-hadamrnn', 'HadamRNN copy iteration, n=128 B=128 T=1000: memory', 150));
  const t1 = ran(byName, 'copy-hadamrnn');
  const t10 = ran(byName, 'copy-hadamrnn-t10k');
  const timeRatio = ratio(t10?.median, t1?.median);
  out.push({
    id: 't10k-time',
    description: 'same at T = 10,000: time',
    value: timeRatio,
    threshold: '≤ 10× the T=1000 time',
    verdict: verdictOf(timeRatio === null ? null : timeRatio <= 10),
    detail: timeRatio === null ? 'a HadamRNN copy case is missing' : `${timeRatio.toFixed(2)}× (${(t10!.median as number).toFixed(3)} s vs ${(t1!.median as number).toFixed(3)} s)`,
  });
  const rssRatio = ratio(t10?.peakRssMB, t1?.peakRssMB);
  out.push({
    id: 't10k-rss',
    description: 'same at T = 10,000: memory',
    value: rssRatio,
    threshold: 'peak RSS within 10% of T=1000',
    verdict: verdictOf(rssRatio === null ? null : rssRatio <= 1.1),
    detail: rssRatio === null ? 'a HadamRNN copy case is missing' : `${t10!.peakRssMB!.toFixed(0)} MB vs ${t1!.peakRssMB!.toFixed(0)} MB (${((rssRatio - 1) * 100).toFixed(0)}%)`,
  });
  out.push(timeTarget(byName, 'pmnist-hadamrnn-time', 'pmnist-hadamrnn', 'HadamRNN pMNIST iteration, n=512 B=100 T=784: time', 0.15));
  out.push(rssTarget(byName, 'pmnist-hadamrnn-rss', 'pmnist-hadamrnn', 'HadamRNN pMNIST iteration, n=512 B=100 T=784: memory', 250));
  out.push(timeTarget(byName, 'copy-qornn-time', 'copy-qornn', 'dense QORNN STE-Björck copy iteration: time', 0.12));
  out.push(rssTarget(byName, 'copy-qornn-rss', 'copy-qornn', 'dense QORNN STE-Björck copy iteration: memory', 200));
  out.push(timeTarget(byName, 'copy-lstm-time', 'copy-lstm', 'LSTM copy iteration: time', 0.5));
  out.push(rssTarget(byName, 'copy-lstm-rss', 'copy-lstm', 'LSTM copy iteration: memory', 400));
  // Integer vs float inference of the same model with the same kind of engine: native vs native
  // when both ran natively, else JS vs JS. 12-bit activations is the headline row; the papers'
  // other widths (native rows only: the JS engine does not depend on the width) are judged each
  // on its own, never the best of them.
  const tp = (name: string, kind: 'native' | 'js'): number | null => {
    const c = ran(byName, name);
    return c && c.throughput && (c.kernel?.implementation ?? 'js') === kind ? c.throughput.value : null;
  };
  const floatNative = tp('infer-float-hadamrnn-native', 'native');
  const nat = ratio(tp('infer-int-hadamrnn-native', 'native'), floatNative);
  const js = ratio(tp('infer-int-hadamrnn', 'js'), tp('infer-float-hadamrnn', 'js'));
  const used = nat ?? js;
  out.push({
    id: 'integer-inference',
    description: 'integer HadamRNN inference vs float HadamRNN (same model, same engine kind), 12-bit activations',
    value: used,
    threshold: '≥ 1.5×',
    verdict: verdictOf(used === null ? null : used >= 1.5),
    detail: used === null ? 'an inference case is missing' : [nat !== null ? `native vs native ${nat.toFixed(2)}× (judged)` : 'native: not run', js !== null ? `JS vs JS ${js.toFixed(2)}×` : null].filter(Boolean).join('; ') + ' (throughput, sequences/s)',
  });
  for (const bits of INFERENCE_WIDTHS) {
    const r = ratio(tp(`infer-int-hadamrnn-native-${bits}b`, 'native'), floatNative);
    out.push({
      id: `integer-inference-${bits}b`,
      description: `same at ${bits}-bit activations (native engines)`,
      value: r,
      threshold: '≥ 1.5×',
      verdict: verdictOf(r === null ? null : r >= 1.5),
      detail: r === null ? 'a native inference case is missing' : `native vs native ${r.toFixed(2)}× (throughput, sequences/s)`,
    });
  }
  return out;
}

/** "native (avx2+fma, 2 threads)", "JS — FELL BACK: reason", "torch (2 threads)". */
export function kernelText(k: KernelRecord): string {
  if (k.implementation === 'js') return k.reason && !/requested/i.test(k.reason) ? `JS — FELL BACK: ${k.reason}` : 'JS';
  if (k.implementation === 'torch') return `torch (${k.threads} threads${k.simd && k.simd !== 'none' ? `, ${k.simd}` : ''})`;
  if (k.implementation.startsWith('tfjs')) return k.implementation;
  return `${k.implementation} (${k.simd}, ${typeof k.threads === 'number' ? `${k.threads} thread${k.threads === 1 ? '' : 's'}` : k.threads})`;
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
  // Judged again on every render: a stored list may be another issue's (older result files).
  const targets = evaluateTargets(cases);
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
  L.push(`- PyTorch peer: ${r.peer.available ? `torch ${m.torch ?? DASH} (${m.torchBlas ?? '?'}), ${m.torchThreads ?? '?'} threads; ours ${m.kernel.threads} threads` : `not run — ${r.peer.message}`}`);
  L.push(`- total bench time: ${r.durationSeconds.toFixed(0)} s`);
  L.push('');
  L.push('## Targets (issue 13)');
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
    L.push('| case | shape | median (s) | min–max (s) | runs | peak RSS (MB) | kept for backward (MB) | kernels | ours / PyTorch HadamRNN as the papers\' code writes it | ours / nn.RNN (different algorithm: dense tanh/ReLU; best of the two) | ours / nn.LSTM |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const c of rows) {
      const label = c.skipped ? `${c.label} (skipped: ${c.skipped})` : c.label;
      L.push(`| ${cell(label)} | ${shapeText(c.shape)} | ${timeCells(c).join(' | ')} | ${fmt(c.keptMB, 1)} | ${c.kernel ? cell(kernelText(c.kernel)) : DASH} | ${fmtRatio(c.ratios?.paper)} | ${fmtRatio(c.ratios?.fused)} | ${fmtRatio(c.ratios?.lstm)} |`);
    }
    L.push('');
  };
  trainTable('train-copy', 'Case 1 — copy-task shape, training iteration');
  trainTable('train-pmnist', 'Case 2 — pMNIST shape, training iteration');
  const simple = (groups: CaseGroup[], title: string, withThroughput: boolean) => {
    const rows = cases.filter((c) => groups.includes(c.group));
    if (!rows.length) return;
    const withKept = rows.some((c) => c.keptMB !== undefined && c.keptMB !== null);
    L.push(`## ${title}`);
    L.push('');
    L.push(`| case | shape | median (s) | min–max (s) | runs | peak RSS (MB) |${withKept ? ' kept for backward (MB) |' : ''}${withThroughput ? ' throughput |' : ''} kernels | notes |`);
    L.push(`|---|---|---|---|---|---|${withKept ? '---|' : ''}${withThroughput ? '---|' : ''}---|---|`);
    for (const c of rows) {
      const label = c.skipped ? `${c.label} (skipped: ${c.skipped})` : c.label;
      const tp = c.throughput && !c.skipped ? `${c.throughput.value.toFixed(1)} ${c.throughput.unit}` : DASH;
      L.push(`| ${cell(label)} | ${shapeText(c.shape)} | ${timeCells(c).join(' | ')} |${withKept ? ` ${fmt(c.keptMB, 1)} |` : ''}${withThroughput ? ` ${tp} |` : ''} ${c.kernel ? cell(kernelText(c.kernel)) : DASH} | ${cell((c.notes ?? []).join('; ')) || DASH} |`);
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
