/**
 * Fixture databases for dashboard tests (kept out of the main barrel).
 *
 * - `smallFixture`: one sweep recorded through the store's own API the way a worker does it
 *   (claim, metrics, provenance, log artifact, finish / fail), with seeds to band, a running
 *   trial, a pending one and a failed one.
 * - `largeFixture`: 10 000 done trials with summaries and some per-step metrics, bulk-written
 *   in one transaction (the shape matters, not the path that wrote it).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimTrial, finishTrial, failTrial, heartbeat, openStore, recordArtifact, recordMetrics, recordProvenance, registerSweep, type Store } from '@orthoquant/store';
import { markDone, trialInput } from '@orthoquant/store/testing';

export interface FixtureDb {
  path: string;
  dir: string;
  /** Folder holding table specs for the tables view. */
  tablesDir: string;
  cleanup(): void;
}

export const FIXTURE_TABLE = `name: fixture
title: "Fixture: sMNIST accuracy"
rows:
  - label: HadamRNN
    where: { model.type: hadamrnn }
  - label: "QORNN {value}-bit"
    where: { model.type: qornn }
    for: { key: model.bits, values: [4, 8] }
  - label: LSTM
    where: { model.type: lstm }
columns:
  - label: sMNIST acc
    where: { task.name: smnist }
    metric: test_accuracy
    format: { digits: 1, percent: true, better: higher }
`;

/** Model families of the small fixture: type, bits, size in bytes, final accuracy. */
export const FIXTURE_MODELS = [
  { type: 'hadamrnn', bits: 4, size: 2_400, acc: 0.95 },
  { type: 'qornn', bits: 4, size: 9_800, acc: 0.9 },
  { type: 'qornn', bits: 8, size: 18_000, acc: 0.97 },
  { type: 'lstm', bits: null, size: 410_000, acc: 0.985 },
] as const;

export const FIXTURE_SEEDS = [0, 1, 2];
export const FIXTURE_STEPS = 40;

function tempDir(prefix: string): { dir: string; tablesDir: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const tablesDir = join(dir, 'tables');
  return { dir, tablesDir };
}

/**
 * 12 done trials (4 models × 3 seeds) with loss / val_accuracy curves and diagnostics for the
 * QORNNs, 1 failed, 1 running (heartbeat now), 1 pending. Done trial ids are 1..12 in order.
 */
export function smallFixture(): FixtureDb {
  const { dir, tablesDir } = tempDir('orthoquant-dash-');
  const path = join(dir, 'fixture.db');
  const store = openStore(path);
  try {
    const inputs = [];
    for (const m of FIXTURE_MODELS) for (const seed of FIXTURE_SEEDS) inputs.push(trialInput({ model: { type: m.type, bits: m.bits, hidden: 128 }, task: { name: 'smnist' }, seed }));
    inputs.push(trialInput({ model: { type: 'qornn', bits: 3, hidden: 128 }, task: { name: 'smnist' }, seed: 0 }));
    inputs.push(trialInput({ model: { type: 'hadamrnn', bits: 2, hidden: 128 }, task: { name: 'copy' }, seed: 0 }));
    inputs.push(trialInput({ model: { type: 'hadamrnn', bits: 1, hidden: 128 }, task: { name: 'copy' }, seed: 0 }));
    const { sweep } = registerSweep(store, { name: 'fixture-sweep', spec: 'name: fixture-sweep\n', specPath: 'experiments/fixture.yaml', fingerprint: 'fixture', trials: inputs });
    writeFileSync(join(dir, 'trial-1.log'), Array.from({ length: 200 }, (_, i) => `{"level":30,"msg":"step ${i * 10} loss ${(2 / (1 + i)).toFixed(4)}"}`).join('\n') + '\n');
    FIXTURE_MODELS.forEach((m, mi) => {
      for (const seed of FIXTURE_SEEDS) {
        const lease = claimTrial(store, { sweepId: sweep.id, workerId: 'fixture-worker' })!;
        recordCurves(store, lease, m.acc, seed, mi, m.type === 'qornn');
        recordProvenance(store, lease, { packageVersion: '0.1.0', gitCommit: 'abc1234', gitDirty: false, backend: 'wasm', kernel: 'js', nodeVersion: process.version, host: 'fixture-host' });
        if (lease.trialId === 1) recordArtifact(store, lease, { kind: 'log', path: 'trial-1.log', bytes: 1 });
        finishTrial(store, lease, { test_accuracy: m.acc + (seed - 1) * 0.005, size_bytes: m.size });
      }
    });
    const failed = claimTrial(store, { sweepId: sweep.id, workerId: 'fixture-worker' })!;
    recordMetrics(store, failed, [{ key: 'loss', step: 0, value: 2.3 }]);
    failTrial(store, failed, 'loss became NaN at step 12');
    const running = claimTrial(store, { sweepId: sweep.id, workerId: 'fixture-worker' })!;
    recordCurves(store, running, 0.5, 0, 5, false, FIXTURE_STEPS / 2);
    heartbeat(store, running);
  } finally {
    store.close();
  }
  writeTable(tablesDir);
  return { path, dir, tablesDir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function writeTable(tablesDir: string): void {
  mkdirSync(tablesDir, { recursive: true });
  writeFileSync(join(tablesDir, 'fixture.yaml'), FIXTURE_TABLE);
  writeFileSync(join(tablesDir, 'broken.yaml'), 'name: broken\ntitle: [unclosed\n');
}

type LeaseOf = NonNullable<ReturnType<typeof claimTrial>>;

/** loss ≈ 2.3 e^{−t/10}, val_accuracy rising to `acc`, seed-dependent wiggle; QORNNs get diagnostics. */
function recordCurves(store: Store, lease: LeaseOf, acc: number, seed: number, family: number, diagnostics: boolean, steps = FIXTURE_STEPS): void {
  const points = [];
  for (let s = 0; s < steps; s++) {
    const step = s * 10;
    const wiggle = Math.sin(s * 0.7 + seed * 2 + family) * 0.02 * (seed + 1);
    points.push({ key: 'loss', step, value: 2.3 * Math.exp(-s / 10) + 0.05 + wiggle });
    points.push({ key: 'val_accuracy', step, value: acc * (1 - Math.exp(-s / 6)) + wiggle / 2 });
    if (diagnostics) {
      points.push({ key: 'orthogonality_error', step, value: 1e-3 * (1 + s / 10) });
      points.push({ key: 'sign_flips', step, value: Math.round(200 * Math.exp(-s / 8)) });
      points.push({ key: 'zero_fraction', step, value: 0.1 + 0.002 * s });
    }
  }
  recordMetrics(store, lease, points);
}

/**
 * `n` done trials (model type × bits × hidden × lr × seed grid, cycled), every one with four
 * summary keys and `stepsPerTrial` per-step loss points.
 */
export function largeFixture(n = 10_000, stepsPerTrial = 10): FixtureDb {
  const { dir, tablesDir } = tempDir('orthoquant-dash-large-');
  const path = join(dir, 'large.db');
  const store = openStore(path);
  try {
    const types = ['hadamrnn', 'qornn', 'ornn', 'lstm'];
    const inputs = [];
    for (let i = 0; i < n; i++) {
      const type = types[i % 4];
      inputs.push(trialInput({ model: { type, bits: [2, 3, 4, 5, 6, 8][(i >> 2) % 6], hidden: 64 + ((i >> 5) % 8) * 16 }, lr: 10 ** -(1 + ((i >> 8) % 4)), task: { name: 'smnist' }, seed: i }));
    }
    registerSweep(store, { name: 'large', spec: '', fingerprint: 'large', trials: inputs });
    markDone(store, (id) => {
      const acc = 0.5 + ((id * 7919) % 1000) / 2000;
      return {
        summary: [
          { key: 'test_accuracy', final: acc, best: acc, bestStep: stepsPerTrial - 1, n: 0 },
          { key: 'val_loss', final: 1 - acc, best: 1 - acc, bestStep: stepsPerTrial - 1, n: 0 },
          { key: 'size_bytes', final: 1000 + (id % 97) * 100, best: 1000 + (id % 97) * 100, bestStep: null, n: 0 },
          { key: 'loss', final: 1 - acc, best: 1 - acc, bestStep: stepsPerTrial - 1, n: stepsPerTrial },
        ],
        metrics: Array.from({ length: stepsPerTrial }, (_, s) => ({ key: 'loss', step: s, value: 1 - acc + 1 / (1 + s) })),
      };
    });
  } finally {
    store.close();
  }
  return { path, dir, tablesDir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Debian's Chromium, which the browser test drives (CI installs it with apt-get). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Whether the browser test can run: with the browser present, yes; without it, a failure
 * under CI=true (CI must have installed it) and a skip with a message otherwise.
 */
export function chromiumGate(present: boolean, ci: string | undefined): { skip: string | false; error: string | null } {
  if (present) return { skip: false, error: null };
  if (ci === 'true') return { skip: false, error: `browser tests: ${CHROMIUM_PATH} is missing but CI=true (CI must install chromium with apt-get)` };
  return { skip: `${CHROMIUM_PATH} not found: browser tests skipped (apt-get install chromium; they are required when CI=true)`, error: null };
}
