/**
 * Times forward + backward of the fused scans alone (typed-array layer, no tfjs copies) at the
 * papers' shapes, for every available implementation, each case in its own child process so
 * that its peak RSS is its own. Median of 5 (1 run when one run takes over 15 s).
 *
 *   node --conditions=@orthoquant/source --import tsx packages/kernels/scripts/measure.ts [--reps 5] [--only native|js] [--tf]
 *
 * `--tf` adds the copy-task shapes (hadamard, dense) through the tfjs op (hadamardScan + tf.grads with a
 * given dL/dH on the wasm backend): the op's overhead over the bare scan (kernel dispatch, heap
 * allocation of H and dL/dZ).
 * The machine is shared: numbers are noisy; medians are reported.
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRng, tf, initBackend, childEnv } from '@orthoquant/runtime';
import { scanForward, scanBackward, availableImplementations, kernelInfo, setKernelImplementation, hadamardScan, denseScan, lstmForward, lstmBackward } from '../src/index.js';
import type { KernelImplementation, ScanSpec } from '../src/index.js';

interface Case {
  name: string;
  spec: ScanSpec;
  /** LSTM case (spec.kind ignored); the JS LSTM is not timed (minutes per run). */
  lstm?: boolean;
}
const CASES: Case[] = [
  { name: 'hadamard n=128 B=128 T=1000', spec: { kind: 'hadamard', activation: 'linear', T: 1000, B: 128, n: 128, blockSize: 128 } },
  { name: 'block-hadamard m=32 n=128 B=128 T=1000', spec: { kind: 'hadamard', activation: 'linear', T: 1000, B: 128, n: 128, blockSize: 32 } },
  { name: 'dense n=128 B=128 T=1000', spec: { kind: 'dense', activation: 'linear', T: 1000, B: 128, n: 128, blockSize: 128 } },
  { name: 'hadamard n=512 B=100 T=784', spec: { kind: 'hadamard', activation: 'linear', T: 784, B: 100, n: 512, blockSize: 512 } },
  { name: 'dense n=512 B=100 T=784', spec: { kind: 'dense', activation: 'linear', T: 784, B: 100, n: 512, blockSize: 512 } },
  { name: 'LSTM n=128 B=128 T=1000', spec: { kind: 'dense', activation: 'linear', T: 1000, B: 128, n: 128, blockSize: 128 }, lstm: true },
];

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const reps = Number(flag('--reps') ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Child: one case, one implementation; prints a JSON line. */
async function child(caseIndex: number, impl: KernelImplementation | 'tf'): Promise<void> {
  const result: Record<string, unknown> = {};
  const times: number[] = [];
  const cpu: number[] = [];
  if (caseIndex < 0) {
    // Baseline: the process with everything imported, no work.
  } else if (impl === 'tf') {
    await initBackend('wasm');
    const { spec } = CASES[caseIndex];
    const rng = createRng('measure');
    const z = tf.tensor3d(rng.normalArray(spec.T * spec.B * spec.n), [spec.T, spec.B, spec.n]);
    const { n } = spec;
    const s = spec.kind === 'dense' ? tf.tensor2d(rng.normalArray(n * n, 1 / Math.sqrt(n)), [n, n]) : tf.tensor1d(Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1)));
    const dy = tf.tensor3d(rng.normalArray(spec.T * spec.B * spec.n, 0.01), [spec.T, spec.B, spec.n]);
    const grad = tf.grads((zz: tf.Tensor, ss: tf.Tensor) =>
      spec.kind === 'dense' ? denseScan(zz as tf.Tensor3D, ss as tf.Tensor2D) : hadamardScan(zz as tf.Tensor3D, ss as tf.Tensor1D, null, { blockSize: spec.blockSize }),
    );
    for (let r = 0; r < reps; r++) {
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      const g = grad([z, s], dy);
      times.push((performance.now() - t0) / 1000);
      const u = process.cpuUsage(u0);
      cpu.push((u.user + u.system) / 1e6);
      tf.dispose(g);
    }
    result.implementation = `tfjs op (${kernelInfo().implementation}, wasm backend)`;
  } else if (CASES[caseIndex].lstm) {
    setKernelImplementation(impl);
    const { T, B, n } = CASES[caseIndex].spec;
    const rng = createRng('measure');
    const size = T * B * n;
    const inp = { gates: rng.normalArray(4 * size, 0.5), w: rng.normalArray(4 * n * n, 1 / Math.sqrt(n)), h0: null, c0: null };
    const dH = rng.normalArray(size, 0.01);
    const out = { H: new Float32Array(size), C: new Float32Array(size), S: new Float32Array(4 * size) };
    const fwd: number[] = [];
    for (let r = 0; r < reps; r++) {
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      lstmForward({ T, B, n }, inp, { out, implementation: impl });
      const t1 = performance.now();
      lstmBackward({ T, B, n }, inp, out, dH, { implementation: impl });
      const t2 = performance.now();
      const u = process.cpuUsage(u0);
      cpu.push((u.user + u.system) / 1e6);
      times.push((t2 - t0) / 1000);
      fwd.push((t1 - t0) / 1000);
    }
    result.forwardMedian = median(fwd);
    result.info = kernelInfo();
  } else {
    setKernelImplementation(impl);
    const { spec } = CASES[caseIndex];
    const rng = createRng('measure');
    const size = spec.T * spec.B * spec.n;
    const { n } = spec;
    const inp = {
      z: rng.normalArray(size, 0.1),
      w: spec.kind === 'dense' ? rng.normalArray(n * n, 1 / Math.sqrt(n)) : Float32Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1)),
      h0: null,
      bias: null,
    };
    const dH = rng.normalArray(size, 0.01);
    const H = new Float32Array(size);
    const out = { dz: new Float32Array(size) };
    for (let r = 0; r < reps; r++) {
      const u0 = process.cpuUsage();
      const t0 = performance.now();
      scanForward(spec, inp, { out: H, implementation: impl });
      const t1 = performance.now();
      scanBackward(spec, inp, H, dH, { out, implementation: impl });
      const t2 = performance.now();
      const u = process.cpuUsage(u0);
      cpu.push((u.user + u.system) / 1e6);
      times.push((t2 - t0) / 1000);
      (result.forward ??= []) as number[];
      (result.forward as number[]).push((t1 - t0) / 1000);
      if (t2 - t0 > 15_000) break;
    }
    result.implementation = impl;
    result.forwardMedian = median(result.forward as number[]);
    delete result.forward;
    result.info = kernelInfo();
  }
  result.times = times;
  result.cpu = cpu;
  result.maxRssMB = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(result));
}

async function main(): Promise<void> {
  const caseArg = flag('--case');
  if (caseArg !== undefined) return child(Number(caseArg), flag('--impl') as KernelImplementation | 'tf');
  const only = flag('--only');
  const impls = availableImplementations().filter((i) => !only || i === only);
  const self = fileURLToPath(import.meta.url);
  const run = (c: number, impl: string) => {
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--case', String(c), '--impl', impl, '--reps', String(reps)], { encoding: 'utf8', env: childEnv({ ORTHOQUANT_LOG_LEVEL: 'error' }) });
    if (r.status !== 0) throw new Error(`case ${c} ${impl} failed:\n${r.stderr}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { times: number[]; cpu: number[]; maxRssMB: number; forwardMedian?: number; info?: { threads: number; simd: string } };
  };
  const base = run(-1, 'js');
  console.log(`kernels: ${JSON.stringify(kernelInfo())}; ${reps} runs per case (median; shared 2-core machine, noisy); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`baseline process peak RSS (imports only): ${base.maxRssMB.toFixed(0)} MB\n`);
  console.log('| case | impl | fwd+bwd wall, median (s) | fwd (s) | CPU time (s) | runs | min–max wall (s) | peak RSS (MB) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (let c = 0; c < CASES.length; c++) {
    for (const impl of impls) {
      if (CASES[c].lstm && impl === 'js') continue;
      const r = run(c, impl);
      const t = r.times;
      const impLabel = impl === 'native' ? `native (${r.info?.simd}, ${r.info?.threads} thr)` : impl;
      console.log(`| ${CASES[c].name} | ${impLabel} | ${median(t).toFixed(3)} | ${r.forwardMedian?.toFixed(3)} | ${median(r.cpu).toFixed(3)} | ${t.length} | ${Math.min(...t).toFixed(3)}–${Math.max(...t).toFixed(3)} | ${r.maxRssMB.toFixed(0)} |`);
    }
  }
  for (const c of args.includes('--tf') ? [0, 2] : []) {
    const r = run(c, 'tf');
    console.log(`| ${CASES[c].name}, tfjs op + tf.grads (wasm backend) | ${kernelInfo().implementation} | ${median(r.times).toFixed(3)} | – | ${median(r.cpu).toFixed(3)} | ${r.times.length} | ${Math.min(...r.times).toFixed(3)}–${Math.max(...r.times).toFixed(3)} | ${r.maxRssMB.toFixed(0)} |`);
  }
}

await main();
