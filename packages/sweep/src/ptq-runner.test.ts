import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { openStore, listTrials, getTrial, metricCurves } from '@orthoquant/store';
import { readIntegerModel } from '@orthoquant/integer';
import { runSweep, DEFAULT_RUNNER_MODULE } from './index.js';
import { sandbox } from './test-fixtures/helpers.js';

const TASK = '{ name: copy, T: 24, K: 4, trainSize: 256, valSize: 64, testSize: 64, seed: 1 }';

describe('ptq runner (the default runner module): float training, then integer-only PTQ', () => {
  it('a real sweep of HadamRNN and QORNN with mode ptq, actBits 12 records int_* next to the float results', async () => {
    assert.equal(DEFAULT_RUNNER_MODULE, '@orthoquant/sweep/ptq-runner');
    const sb = sandbox();
    try {
      const file = sb.write(
        'ptq.yaml',
        [
          'name: ptq',
          'method: grid',
          'base:',
          `  task: ${TASK}`,
          '  batchSize: 32',
          '  optimizer: { lr: 0.01 }',
          '  budget: { epochs: 2 }',
          '  mode: ptq',
          '  ptq: { actBits: 12 }',
          'parameters:',
          '  model:',
          '    values:',
          '      - { type: hadamrnn, hidden: 16, bits: 4 }',
          '      - { type: qornn, hidden: 16, bits: 4 }',
          'seeds: [0]',
          '',
        ].join('\n'),
      );
      const r = await runSweep({ dbPath: sb.db, file, workers: 2 });
      assert.deepEqual([r.total, r.done, r.failed], [2, 2, 0], JSON.stringify(r.failures));
      const store = openStore(sb.db, { readonly: true });
      try {
        const rows = listTrials(store, { sweep: 'ptq' });
        assert.equal(rows.length, 2);
        for (const row of rows) {
          const s: Record<string, number> = Object.fromEntries(Object.entries(row.summary).map(([k, v]) => [k, v.final ?? NaN]));
          const who = `${(row.config.model as { type: string }).type}: ${JSON.stringify(s)}`;
          assert.equal(s.int_act_bits, 12, who);
          assert.equal(s.int_test_sequences, 64, who);
          assert.equal(s.int_val_sequences, 64, who);
          for (const k of ['int_test_loss', 'int_test_accuracy', 'int_val_loss', 'int_val_accuracy', 'float_ref_test_loss', 'int_seq_per_s', 'float_seq_per_s', 'test_loss']) {
            assert.ok(Number.isFinite(s[k]), `${k} missing in ${who}`);
          }
          assert.ok(s.int_test_accuracy >= 0 && s.int_test_accuracy <= 1, who);
          assert.ok(s.int_seq_per_s > 0 && s.float_seq_per_s > 0, who);
          // 12-bit integer inference tracks the float model: its reference exactly up to
          // rounding, and tfjs's own test loss within a small tolerance.
          assert.ok(Math.abs(s.int_test_loss - s.float_ref_test_loss) <= 0.01 * s.float_ref_test_loss + 1e-3, who);
          assert.ok(Math.abs(s.int_test_loss - s.test_loss) <= 0.02 * s.test_loss + 2e-3, who);
          assert.ok(Math.abs(s.float_ref_test_loss - s.test_loss) <= 1e-3 * s.test_loss + 1e-4, `float reference vs tfjs: ${who}`);
          // the metrics table has them too (one final step event), and the model file is an artifact
          const curves = metricCurves(store, [row.id], ['int_test_loss']);
          assert.equal(curves.length, 1);
          const t = getTrial(store, row.id);
          const model = t.artifacts.find((a) => a.kind === 'model');
          assert.ok(model, `no model artifact for ${who}`);
          assert.match(model.path, /model-a12\.oqint$/);
          assert.ok(existsSync(model.path) && model.bytes! > 0);
          const f = readIntegerModel(model.path);
          assert.equal(f.model.actBits, 12);
          assert.deepEqual(f.metadata.task, row.config.task);
          assert.equal(f.model.kind, row.config.model && (row.config.model as { type: string }).type === 'hadamrnn' ? 'hadamrnn' : 'ornn');
        }
      } finally {
        store.close();
      }
    } finally {
      sb.cleanup();
    }
  });
});
