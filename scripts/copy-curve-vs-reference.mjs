#!/usr/bin/env node
// The copy task's training curve next to the reference code's (deel-ai-papers/hadamRNN run on
// this machine at its copy-task config, T = 1000, seed 712), read from `results/<sweep>/curves.csv`.
// The reference prints tqdm's "avg loss": the mean training loss since the start of the epoch;
// we print the same mean (from the export's block means `loss_mean`) and the mean of the last
// 100 steps. Usage: node scripts/copy-curve-vs-reference.mjs results/SWEEP [results/SWEEP ...]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const REFERENCE = { 100: 2.24, 500: 0.75, 1000: 0.131, 1300: 0.094, 1800: 0.072 }; // that run's tqdm 'avg loss' at these steps
const STEPS = Object.keys(REFERENCE).map(Number);
const dirs = process.argv.slice(2);
if (!dirs.length) {
  console.error('usage: node scripts/copy-curve-vs-reference.mjs results/SWEEP ...');
  process.exit(2);
}
const rows = [['run', ...STEPS.map((s) => `step ${s}`)], ['reference code, epoch mean', ...STEPS.map((s) => String(REFERENCE[s]))]];
for (const dir of dirs) {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  const lines = readFileSync(join(dir, 'curves.csv'), 'utf8').trim().split('\n').slice(1);
  for (const t of summary.trials) {
    const every = summary.lossThinning?.[String(t.trial)]?.every ?? 1;
    // block means: loss_mean at step s is the mean of the `every` steps ending at s
    const blocks = lines.map((l) => l.split(',')).filter((f) => f[0] === String(t.trial) && f[1] === 'loss_mean').map((f) => [Number(f[2]), Number(f[3])]).sort((a, b) => a[0] - b[0]);
    if (!blocks.length) continue;
    const epochMean = (s) => {
      const upto = blocks.filter(([st]) => st <= s);
      return upto.length ? upto.reduce((a, [, v]) => a + v, 0) / upto.length : NaN;
    };
    const recent = (s) => {
      const w = blocks.filter(([st]) => st <= s && st > s - 100);
      return w.length ? w.reduce((a, [, v]) => a + v, 0) / w.length : NaN;
    };
    const f = (v) => (Number.isFinite(v) ? v.toPrecision(3) : '—');
    rows.push([`${summary.sweep} seed ${t.seed}, epoch mean`, ...STEPS.map((s) => f(epochMean(s)))]);
    rows.push([`${summary.sweep} seed ${t.seed}, last 100 steps`, ...STEPS.map((s) => f(recent(s)))]);
  }
}
console.log(rows.map((r) => `| ${r.join(' | ')} |`).join('\n').replace(/\n/, `\n|${' --- |'.repeat(rows[0].length)}\n`));
