// Every sweep shipped in experiments/ parses, expands, and each of its trials is a valid trial
// config for the real trainer (so a user never meets a typo hours into a paper sweep).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseTrialConfig, runTrial } from '@orthoquant/train';
import { testBackend } from '@orthoquant/runtime/testing';
import { TASK_NAMES } from '@orthoquant/tasks';
import { loadSweepFile, expandSweep } from './index.js';

const EXPERIMENTS = fileURLToPath(new URL('../../../experiments/', import.meta.url));

test('experiments/*.yaml: every sweep expands into valid trial configs', () => {
  const files = readdirSync(EXPERIMENTS).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.includes('quickstart.yaml'));
  assert.ok(files.length >= 6, `expected the quickstart and the paper sweeps, found ${files.join(', ')}`);
  for (const f of files) {
    const spec = loadSweepFile(join(EXPERIMENTS, f));
    const e = expandSweep(spec, { resolve: (c, where) => parseTrialConfig(c, where) });
    assert.ok(e.trials.length > 0, `${f} expands to trials`);
    for (const t of e.trials) {
      const c = t.config as { task: { name: string }; model: { type: string } };
      assert.ok((TASK_NAMES as readonly string[]).includes(c.task.name), `${f}: unknown task ${c.task.name}`);
    }
  }
});

test('the quickstart is the sweep the issue asks for: 5 model families × 2 tasks × 2 seeds', () => {
  const e = expandSweep(loadSweepFile(join(EXPERIMENTS, 'quickstart.yaml')), { resolve: (c, where) => parseTrialConfig(c, where) });
  assert.equal(e.trials.length, 20);
  const families = new Set(e.trials.map((t) => JSON.stringify([(t.config as any).model.type, (t.config as any).model.bits ?? null])));
  assert.equal(families.size, 5);
});

test('quickstart: every seed of every orthogonal family learns its copy task (T = 100): test loss < memoryless / 4 (QORNN 4-bit: / 3), recall ≥ 80 % (70 %)', async () => {
  // The quickstart's own copy-task trials, trained as the sweep trains them. The LSTM is left
  // out: at this budget it stays at the memoryless baseline, as the papers report for LSTMs on
  // the copy task (its quickstart row shows it).
  // QORNN with 4-bit W learns more slowly in 800 steps and its end point moves with last-bit
  // rounding: seed 1 ends at 0.043 with the -march=native build and at 0.054 with the portable
  // -mavx2 -mfma build (memoryless 0.208); across orthLr 3e-5…1e-3, lr 2e-3 and 1200 steps the
  // two seeds ended between 0.022 and 0.10. Its bar is memoryless / 3 and 70 % recall, which a
  // model that learned nothing (loss ≈ memoryless, recall ≈ 1/8) still fails by far.
  await testBackend();
  const e = expandSweep(loadSweepFile(join(EXPERIMENTS, 'quickstart.yaml')), { resolve: (c, where) => parseTrialConfig(c, where) });
  const copy = e.trials.filter((t) => (t.config as any).task.name === 'copy' && (t.config as any).model.type !== 'lstm');
  assert.equal(copy.length, 8, 'HadamRNN, QORNN 4/8-bit, ORNN × 2 seeds');
  for (const t of copy) {
    const m = (await runTrial(t.config)) as Record<string, number>;
    const label = `${JSON.stringify((t.config as any).model)} seed ${(t.config as any).seed}`;
    const fourBitQornn = (t.config as any).model.type === 'qornn' && (t.config as any).model.bits === 4;
    const [factor, recall] = fourBitQornn ? [3, 0.7] : [4, 0.8];
    assert.ok(m.test_loss < m.memoryless_loss / factor, `${label}: test loss ${m.test_loss.toFixed(4)} vs memoryless ${m.memoryless_loss.toFixed(4)} / ${factor}`);
    assert.ok(m.test_copyAccuracy >= recall, `${label}: recall ${(100 * m.test_copyAccuracy).toFixed(1)} % (bar ${100 * recall} %)`);
  }
});
