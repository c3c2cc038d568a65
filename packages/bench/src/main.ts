/**
 * `npm run bench`: every case of issue 13, each in its own child process (its peak RSS is its
 * own), the PyTorch peer in the same run with the same thread count (ORTHOQUANT_THREADS for our
 * children = torch.set_num_threads = OMP_NUM_THREADS = MKL_NUM_THREADS, all set explicitly), then
 * benchmarks/results/<date>.json and benchmarks/RESULTS.md. See `--help`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, release, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tf, initBackend, childEnv, rawSetting } from '@orthoquant/runtime';
import { kernelInfo } from '@orthoquant/kernels';
import { BenchUsageError, parseArgs, USAGE } from './args.js';
import { CASES, CASE_NAMES, findCase } from './cases.js';
import type { CaseMeasurement } from './cases.js';
import { detectTorch, installTorch, runPeer } from './peer.js';
import type { PeerStatus } from './peer.js';
import { renderMarkdown, writeResults } from './report.js';
import type { BenchResults, CaseResult, MachineInfo } from './report.js';
import { summarize } from './stats.js';

const SELF = fileURLToPath(import.meta.url);
/** packages/bench/{src,dist}/main.* → the repository root. */
export const REPO_ROOT = resolve(dirname(SELF), '../../..');
const PEER_SCRIPT = join(REPO_ROOT, 'benchmarks/peers/torch_rnn.py');
const MARK = 'BENCH_RESULT ';

const log = (s: string) => process.stderr.write(s + '\n');

async function child(name: string, quick: boolean, reps: number): Promise<void> {
  const c = findCase(name);
  if (!c.run) throw new Error(`case ${name} is a peer case (run by the parent)`);
  const m = await c.run({ quick, reps, warmup: 1 });
  process.stdout.write(`\n${MARK}${JSON.stringify({ ...m, peakRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

function runChild(name: string, quick: boolean, reps: number, threads: number): CaseMeasurement & { peakRssMB: number } {
  const args = [...process.execArgv, SELF, '--child', name, '--reps', String(reps), ...(quick ? ['--quick'] : [])];
  const env = childEnv({ ORTHOQUANT_THREADS: String(threads), ORTHOQUANT_LOG_LEVEL: rawSetting('logLevel') ?? 'error' });
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 64 << 20, env });
  const line = r.stdout?.split('\n').find((l) => l.startsWith(MARK));
  if (r.status !== 0 || !line) throw new Error(`exit ${r.status ?? r.signal}: ${(r.stderr || r.error?.message || '').trim().slice(-1500)}`);
  return JSON.parse(line.slice(MARK.length)) as CaseMeasurement & { peakRssMB: number };
}

function today(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

async function machine(peer: PeerStatus, loadStart: number[]): Promise<MachineInfo> {
  const b = await initBackend();
  const k = kernelInfo();
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGB: totalmem() / 2 ** 30,
    loadAverage: { start: loadStart, end: loadavg() },
    os: `${platform()} ${release()}`,
    node: process.version,
    tfjs: b.tfjsVersion ?? tf.version_core,
    backend: b.tfBackend,
    kernel: { implementation: k.implementation, simd: k.simd, threads: k.threads },
    torch: peer.torch,
    torchBlas: null,
    torchThreads: null,
  };
}

async function main(): Promise<number> {
  const defaultOut = join(REPO_ROOT, 'benchmarks');
  const args = parseArgs(process.argv.slice(2), CASE_NAMES, defaultOut);
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (args.list) {
    for (const c of CASES) console.log(`${c.name.padEnd(26)} ${c.group.padEnd(13)} ${c.label}`);
    return 0;
  }
  if (args.render) {
    const r = JSON.parse(readFileSync(args.render, 'utf8')) as BenchResults;
    if (!Array.isArray(r.cases) || typeof r.date !== 'string') throw new BenchUsageError(`--render: ${args.render} is not a bench result file`);
    const notesFile = join(args.outDir, 'notes.md');
    const md = join(args.outDir, 'RESULTS.md');
    writeFileSync(md, renderMarkdown(r, !r.quick && existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '') + '\n');
    log(`wrote ${md}`);
    return 0;
  }
  const reps = args.reps ?? (args.quick ? 1 : 5);
  if (args.child) {
    await child(args.child, args.quick, reps);
    return 0;
  }
  const started = Date.now();
  const loadStart = loadavg();
  const selected = CASES.filter((c) => args.cases.length === 0 || args.cases.includes(c.name));
  const wantsPeer = !args.noPeer && selected.some((c) => c.peer);
  let peer: PeerStatus = { available: false, message: args.noPeer ? 'skipped (--no-peer)' : 'no peer case selected', torch: null };
  if (wantsPeer) {
    peer = detectTorch();
    if (!peer.available && args.installPeer) peer = installTorch(log);
    if (!peer.available) log(`PyTorch peer SKIPPED: ${peer.message}`);
  }
  const info = await machine(peer, loadStart);
  // One thread count for both sides: ours (ORTHOQUANT_THREADS, default the hardware's) = torch's.
  const threads = Number(info.kernel.threads);
  log(`bench: ${selected.length} case(s), ${reps} timed run(s) each after 1 warm-up, ${threads} thread(s) on both sides${args.quick ? ' (QUICK: tiny shapes, numbers mean nothing)' : ''}; load average ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  const results: CaseResult[] = [];
  for (const c of selected) {
    const shape = c.shape(args.quick);
    const base: CaseResult = { name: c.name, group: c.group, label: c.label, shape, times: [], median: null, min: null, max: null, peakRssMB: null, ...(c.peers ? { peers: c.peers } : {}) };
    const t0 = Date.now();
    process.stderr.write(`  ${c.name} … `);
    try {
      if (c.peer) {
        if (!peer.available) {
          results.push({ ...base, skipped: args.noPeer ? '--no-peer' : 'PyTorch not installed' });
          log('skipped (no PyTorch)');
          continue;
        }
        const p = runPeer(PEER_SCRIPT, c.peer, shape, reps, 1, threads);
        info.torch = p.torch;
        info.torchBlas = p.blas;
        info.torchThreads = p.threads;
        const s = summarize(p.times_s);
        results.push({
          ...base, times: p.times_s, median: s.median, min: s.min, max: s.max, peakRssMB: p.peak_rss_mb, keptMB: p.kept_mb ?? null,
          kernel: { implementation: 'torch', simd: p.blas, threads: p.threads },
          notes: [`torch ${p.torch}, torch.get_num_threads() = ${p.threads}, OMP_NUM_THREADS = ${p.omp_threads ?? '?'}, ${p.blas}`],
        });
      } else {
        const m = runChild(c.name, args.quick, reps, threads);
        const s = summarize(m.times);
        results.push({
          ...base, shape: m.shape ?? (c.group === 'baseline' ? null : shape), times: m.times, median: s.median, min: s.min, max: s.max, peakRssMB: m.peakRssMB, throughput: m.throughput ?? null,
          ...(m.notes ? { notes: m.notes } : {}), ...(m.kernel ? { kernel: m.kernel } : {}), ...(m.keptMB !== undefined ? { keptMB: m.keptMB } : {}),
        });
      }
      const r = results.at(-1)!;
      log(`median ${r.median?.toFixed(3)} s [${r.min?.toFixed(3)}–${r.max?.toFixed(3)}], peak RSS ${r.peakRssMB?.toFixed(0)} MB${r.throughput ? `, ${r.throughput.value.toFixed(1)} ${r.throughput.unit}` : ''} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    } catch (e) {
      const msg = (e as Error).message;
      results.push({ ...base, skipped: `error: ${msg.split('\n').filter(Boolean).pop()?.slice(0, 300) ?? msg}` });
      log(`FAILED: ${msg}`);
    }
  }
  const out: BenchResults = {
    date: today(),
    startedAt: new Date(started).toISOString(),
    durationSeconds: (Date.now() - started) / 1000,
    quick: args.quick,
    reps,
    machine: { ...info, loadAverage: { start: loadStart, end: loadavg() } },
    peer: { available: peer.available, message: peer.message },
    cases: results,
  };
  const notesFile = join(args.outDir, 'notes.md');
  const notes = !args.quick && existsSync(notesFile) ? readFileSync(notesFile, 'utf8') : '';
  const paths = writeResults(out, args.outDir, notes);
  log(`wrote ${paths.json}\nwrote ${paths.markdown}`);
  return results.some((r) => r.skipped?.startsWith('error:')) ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  if (e instanceof BenchUsageError) {
    console.error(`bench: ${e.message}`);
    process.exitCode = 2;
  } else throw e;
}
