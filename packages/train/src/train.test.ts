import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tf, createRng } from '@orthoquant/runtime';
import { testBackend } from '@orthoquant/runtime/testing';
import { createModel, setFusedDense } from '@orthoquant/models';
import { tinyConfigs, randomInputs } from '@orthoquant/models/testing';
import { createTask, batchToTensors } from '@orthoquant/tasks';
import { runTrial, modelIO, forwardInChunks, parseTrialConfig, TrialStoppedError, Optimizer, globalNorm, readCheckpoint } from './index.js';
import type { TrainEvent } from './index.js';
import { tinyTrial } from './testing.js';
import { withTempDir, writeAclImdbFixture, writeGlueFixture, writePtbFixture } from '@orthoquant/tasks/testing';

before(async () => {
  await testBackend();
});

function collect(): { events: TrainEvent[]; onEvent: (e: TrainEvent) => void; losses: () => number[] } {
  const events: TrainEvent[] = [];
  return {
    events,
    onEvent: (e) => events.push(e),
    losses: () => events.flatMap((e) => (e.type === 'step' ? [e.metrics.loss] : [])),
  };
}

describe('trial config', () => {
  it('fills defaults and keeps what was given', () => {
    const c = parseTrialConfig({ task: { name: 'copy', T: 21 }, model: { type: 'qornn', hidden: 16, bits: 4 } });
    assert.equal(c.seed, 0);
    assert.equal(c.batchSize, 128);
    assert.deepEqual(c.optimizer.betas, [0.9, 0.999]);
    assert.equal(c.optimizer.name, 'adam');
    assert.equal(c.schedule.gamma, 1);
    assert.equal(c.budget.epochs, 1);
    assert.equal(c.mode, 'qat');
    assert.deepEqual(c.model, {
      type: 'qornn',
      hidden: 16,
      bits: 4,
      readout: 'auto',
      activation: 'linear',
      strategy: 'ste-bjorck',
      init: 'auto',
      readoutActivation: 'relu',
      biasInit: 'fan-in',
      paddingIdx: 0,
    });
    // Parsing a parsed config changes nothing (the sweep re-parses).
    assert.deepEqual(parseTrialConfig(c), c);
  });

  it("records the reference code's defaults in the config (so the hash tells old runs from new)", () => {
    const h = parseTrialConfig({ task: { name: 'copy', T: 21 }, model: { type: 'hadamrnn', hidden: 16 } });
    assert.equal((h.model as { uInit?: string }).uInit, 'xavier');
    assert.equal((h.model as { biasInit?: string }).biasInit, 'fan-in');
    assert.equal(h.task.seed, 'trial', 'copy data drawn from the trial seed');
    assert.equal(parseTrialConfig({ task: { name: 'copy', T: 21, seed: 4 }, model: { type: 'hadamrnn', hidden: 16 } }).task.seed, 4);
    const m = parseTrialConfig({ task: { name: 'pmnist' }, model: { type: 'hadamrnn', hidden: 16 } });
    assert.equal(m.task.valSplit, 'random');
    assert.equal(m.task.splitSeed, 'trial');
    const last = parseTrialConfig({ task: { name: 'smnist', valSplit: 'last' }, model: { type: 'hadamrnn', hidden: 16 } });
    assert.equal(last.task.splitSeed, undefined);
    const opts = parseTrialConfig({ task: { name: 'copy', T: 21 }, model: { type: 'hadamrnn', hidden: 16, uInit: 'normal', biasInit: 'zeros', paddingIdx: null } });
    assert.deepEqual([(opts.model as { uInit?: string }).uInit, (opts.model as { biasInit?: string }).biasInit, opts.model.paddingIdx], ['normal', 'zeros', null]);
    assert.throws(() => parseTrialConfig({ task: { name: 'copy', T: 21 }, model: { type: 'hadamrnn', hidden: 16, uInit: 'he' } }), /model\.uInit: expected one of 'xavier' \| 'normal', got 'he'/);
    assert.throws(() => parseTrialConfig({ task: { name: 'copy', T: 21 }, model: { type: 'lstm', hidden: 16, biasInit: 'ones' } }), /model\.biasInit: expected one of 'fan-in' \| 'zeros', got 'ones'/);
  });

  it('errors name the key path, what was expected and what was given', () => {
    const base = { task: { name: 'copy', T: 21 } };
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'qornn', hidden: 16, bits: 0 } }), /^InputError: model\.bits: expected an integer in 1\.\.16, got 0$/);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'hadamrnn', hidden: 16, bitz: 4 } }), /model\.bitz: unknown key/);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'gru', hidden: 16 } }), /model\.type: expected one of 'ornn' \| 'qornn' \| 'hadamrnn' \| 'lstm' \| 'fastrnn' \| 'fastgrnn', got 'gru'/);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'ornn', hidden: 8, orthogonal: 'givens' } }), /model\.orthogonal: expected one of 'cayley' \| .*got 'givens'/);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'ornn', hidden: 8 }, optimizer: { lr: -1 } }), /optimizer\.lr: expected a number > 0, got -1/);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'ornn' } }), /model\.hidden: /);
    assert.throws(() => parseTrialConfig({ model: { type: 'ornn', hidden: 8 } }, 'exp.yaml trial 3'), /^InputError: exp\.yaml trial 3: task: /);
    assert.throws(() => parseTrialConfig({ ...base, model: { type: 'ornn', hidden: 8 }, mode: 'ptq' }), /ptq: mode ptq needs ptq\.bits .*and\/or ptq\.actBits/);
  });

  it('ptq: weight-only (bits, ioBits) and integer-only (actBits, weightBits, statistic, calibrationBatches) settings', () => {
    const base = { task: { name: 'copy', T: 21 }, model: { type: 'qornn', hidden: 16, bits: 4 }, mode: 'ptq' } as const;
    assert.deepEqual(parseTrialConfig({ ...base, ptq: { bits: 3 } }).ptq, { bits: 3 });
    assert.deepEqual(parseTrialConfig({ ...base, ptq: { actBits: 12 } }).ptq, { actBits: 12 });
    const full = parseTrialConfig({ ...base, ptq: { bits: 4, ioBits: 8, actBits: 8, weightBits: 6, statistic: 'p99.9', calibrationBatches: 3 } });
    assert.deepEqual(full.ptq, { bits: 4, ioBits: 8, actBits: 8, weightBits: 6, statistic: { percentile: 99.9 }, calibrationBatches: 3 });
    assert.deepEqual(parseTrialConfig(full), full, 'a parsed config parses to itself');
    assert.deepEqual(parseTrialConfig({ ...base, ptq: { actBits: 16, statistic: { percentile: 99 } } }).ptq?.statistic, { percentile: 99 });
    assert.equal(parseTrialConfig({ ...base, ptq: { actBits: 6, statistic: 'max' } }).ptq?.statistic, 'max');
    assert.throws(() => parseTrialConfig({ ...base, ptq: { actBits: 4 } }), /^InputError: ptq\.actBits: expected an integer in 6\.\.16, got 4$/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { actBits: 8, statistic: 'p0' } }), /ptq\.statistic: expected 'max', 'p<percentile>' .*got 'p0'/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { actBits: 8, statistic: { percentile: 101 } } }), /ptq\.statistic: expected .*got \{"percentile":101\}/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { actBits: 8, calibration: 'max' } }), /ptq\.calibration: unknown key/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { weightBits: 8 } }), /ptq: mode ptq needs/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { bits: 4, weightBits: 8 } }, 'x.yaml'), /^InputError: x\.yaml: ptq\.weightBits: weightBits is an integer-only PTQ setting and needs ptq\.actBits$/);
    assert.throws(() => parseTrialConfig({ ...base, ptq: { actBits: 8, ioBits: 8 } }), /ptq\.ioBits: ioBits is for weight-only PTQ and needs ptq\.bits/);
    assert.throws(() => parseTrialConfig({ ...base, mode: 'qat', ptq: { actBits: 8 } }), /mode: ptq settings given but mode is 'qat'/);
  });
});

describe('optimizers', () => {
  it('Adam follows PyTorch’s update over two steps; its state restores exactly', () => {
    const v = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Optimizer({ name: 'adam', betas: [0.9, 0.999], eps: 1e-8, alpha: 0.99, momentum: 0 }, [{ name: 'v', variable: v }], 0.1);
    const g1 = tf.tensor1d([0.5, -1]);
    const g2 = tf.tensor1d([0.25, 2]);
    opt.apply([g1]);
    opt.apply([g2]);
    // Reference in float64.
    const ref = [1, -2].map((x0, i) => {
      const gs = [[0.5, -1][i], [0.25, 2][i]];
      let m = 0, s = 0, x = x0;
      gs.forEach((g, k) => {
        m = 0.9 * m + 0.1 * g;
        s = 0.999 * s + 0.001 * g * g;
        const t = k + 1;
        x -= (0.1 * (m / (1 - 0.9 ** t))) / (Math.sqrt(s) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
      });
      return x;
    });
    const got = v.dataSync();
    ref.forEach((r, i) => assert.ok(Math.abs(got[i] - r) < 1e-5, `adam[${i}] ${got[i]} vs ${r}`));
    const state = opt.getState();
    const w = tf.variable(tf.tensor1d(Array.from(got)));
    const twin = new Optimizer(opt.settings, [{ name: 'v', variable: w }], 0.1);
    twin.setState(state);
    opt.apply([g1]);
    twin.apply([g1]);
    assert.deepEqual(Array.from(w.dataSync()), Array.from(v.dataSync()));
    assert.throws(() => twin.setState({ step: 1, slots: {} }), /optimizer state does not match the model: expected slots v#0, v#1, got \(none\)/);
    tf.dispose([v, w, g1, g2]);
    opt.dispose();
    twin.dispose();
  });

  it('global norm over several tensors', () => {
    const a = tf.tensor1d([3, 0]);
    const b = tf.tensor2d([[0, 4]]);
    assert.ok(Math.abs(globalNorm([a, b]) - 5) < 1e-6);
    tf.dispose([a, b]);
  });
});

describe('evaluation forward in sub-batches (bounded hidden-state memory)', () => {
  it('gives the logits of one forward, for last-step and every-step readouts, without leaks', () => {
    for (const readout of ['last', 'many-to-many'] as const) {
      const io = { inputSize: 3, outputSize: 4, readout };
      const model = createModel({ type: 'hadamrnn', hidden: 8, activation: 'linear', bits: 4, readoutActivation: 'relu' } as never, io, 1);
      const x = randomInputs(5, 7, 3);
      const whole = model.forward(x);
      const before = tf.memory().numTensors;
      // 5·2·8 floats per chunk → sub-batches of 2, 2, 2, 1.
      const parts = forwardInChunks(model, x, 5 * 2 * 8);
      assert.deepEqual(parts.shape, whole.shape);
      const a = whole.dataSync();
      const b = parts.dataSync();
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * (1 + Math.abs(a[i])), `${readout} logit ${i}: ${a[i]} vs ${b[i]}`);
      parts.dispose();
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([whole, x]);
      model.dispose();
    }
  });
});

describe('runTrial', () => {
  it('calls keepAlive after every evaluation batch (a sweep worker refreshes its lease there)', async () => {
    let calls = 0;
    // 2 epochs × (val 64 + test 64 sequences in batches of 16) = 16 evaluation batches.
    await runTrial(tinyTrial({ evalBatchSize: 16 }), { keepAlive: () => calls++ });
    assert.equal(calls, 16);
  });

  for (const { label, config } of tinyConfigs()) {
    it(`${label}: the loss falls over 16 steps`, async () => {
      const c = collect();
      const before = tf.memory().numTensors;
      const summary = await runTrial(tinyTrial({ model: config, budget: { epochs: 2, evalBatches: 1 } }), { onEvent: c.onEvent });
      assert.equal(tf.memory().numTensors, before, `${label}: runTrial leaked tensors`);
      const l = c.losses();
      assert.equal(l.length, 16);
      const head = (l[0] + l[1] + l[2]) / 3;
      const tail = (l[13] + l[14] + l[15]) / 3;
      assert.ok(tail < 0.8 * head, `${label}: loss ${head.toFixed(3)} → ${tail.toFixed(3)}`);
      assert.equal(summary.steps, 16);
      assert.ok(Number.isFinite(summary.val_loss) && Number.isFinite(summary.test_accuracy));
      assert.ok(Math.abs(summary.memoryless_loss - (2 * Math.log(8)) / 12) < 1e-9);
    });
  }

  it('emits step and epoch events, schedules lr ×γ per epoch, reports diagnostics and sign flips', async () => {
    const c = collect();
    const progress: number[] = [];
    const summary = await runTrial(tinyTrial({ model: { type: 'hadamrnn', hidden: 8, bits: 4 }, optimizer: { lr: 0.5 } }), {
      onEvent: c.onEvent,
      progress: { update: (p) => progress.push(p.step) },
    });
    const epochs = c.events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch');
    assert.deepEqual(epochs.map((e) => e.epoch), [0, 1]);
    assert.ok(Math.abs(epochs[1].metrics.lr - 0.5 * 0.9) < 1e-12);
    for (const key of ['train_loss', 'val_loss', 'val_accuracy', 'test_loss', 'test_copyAccuracy', 'orthogonality_error', 'zero_fraction', 'sign_flips']) {
      assert.ok(key in epochs[1].metrics, `epoch metrics lack ${key}: ${Object.keys(epochs[1].metrics)}`);
    }
    // A large lr on u flips some signs of W.
    assert.ok(epochs.some((e) => e.metrics.sign_flips > 0), 'no sign flips at lr 0.5');
    // Per step (TRACK_FLIPS): the flips of each step add up to the epoch's net change at most.
    const steps = c.events.filter((e): e is Extract<TrainEvent, { type: 'step' }> => e.type === 'step');
    assert.equal(steps.length, 16);
    assert.ok(steps.every((e) => Number.isInteger(e.metrics.step_sign_flips) && e.metrics.step_sign_flips >= 0 && e.metrics.step_sign_flips <= 8));
    const perEpoch = [0, 1].map((k) => steps.slice(8 * k, 8 * k + 8).reduce((a, e) => a + e.metrics.step_sign_flips, 0));
    epochs.forEach((e, k) => assert.ok(e.metrics.sign_flips <= perEpoch[k], `epoch ${k}: ${e.metrics.sign_flips} net flips > ${perEpoch[k]} step flips`));
    // HadamRNN's W is exactly orthogonal: every singular value is 1.
    for (const e of epochs) assert.ok(Math.abs(e.metrics.sv_min - 1) < 1e-6 && Math.abs(e.metrics.sv_max - 1) < 1e-6, `σ range [${e.metrics.sv_min}, ${e.metrics.sv_max}]`);
    assert.deepEqual(progress, Array.from({ length: 16 }, (_, i) => i + 1));
    assert.equal(summary.recurrent_bits, 8);
    assert.equal(summary.best_epoch !== undefined, true);
  });

  it("QORNN quantizeIO: false (the reference's SpectralQSSM): W at k bits, U and V float; σ range of the quantized W per epoch", async () => {
    const c = collect();
    const cfg = tinyTrial({ model: { type: 'qornn', hidden: 8, bits: 3, quantizeIO: false } });
    const summary = await runTrial(cfg, { onEvent: c.onEvent });
    const model = createModel(parseTrialConfig(cfg).model, { inputSize: 10, outputSize: 9, readout: 'many-to-many' }, 0);
    assert.deepEqual(model.quantization().U, { bits: null, kind: 'float' });
    assert.deepEqual(model.quantization().W, { bits: 3, kind: 'uniform' });
    model.dispose();
    const epochs = c.events.filter((e): e is Extract<TrainEvent, { type: 'epoch' }> => e.type === 'epoch');
    // 3-bit W is near orthogonal, not exactly: its singular values spread around 1.
    for (const e of epochs) assert.ok(e.metrics.sv_min < e.metrics.sv_max && e.metrics.sv_min > 0.3 && e.metrics.sv_max < 1.7, `σ range [${e.metrics.sv_min}, ${e.metrics.sv_max}]`);
    assert.ok(Number.isFinite(summary.test_loss));
    assert.throws(() => createModel({ type: 'qornn', hidden: 8, bits: 3, quantizeIO: false, ioBits: 4, activation: 'linear', strategy: 'ste-bjorck', init: 'auto', readoutActivation: 'relu' }, { inputSize: 2, outputSize: 2, readout: 'last' }, 0), /model\.ioBits: quantizeIO: false keeps U and V float/);
  });

  it('a separate learning rate for the orthogonal group', async () => {
    // orthLr tiny: u (and so W) cannot move, while U/V train.
    const c = collect();
    await runTrial(tinyTrial({ optimizer: { lr: 0.5, orthLr: 1e-30 } }), { onEvent: c.onEvent });
    const flips = c.events.flatMap((e) => (e.type === 'epoch' ? [e.metrics.sign_flips] : []));
    assert.deepEqual(flips, [0, 0]);
  });

  it('resuming from a checkpoint gives bitwise the same losses as an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oq-train-'));
    try {
      const cfg = tinyTrial({ model: { type: 'qornn', hidden: 8, bits: 4 }, budget: { epochs: 2, checkpointEvery: 5 } });
      const full = collect();
      const s1 = await runTrial(cfg, { onEvent: full.onEvent });
      // Stopped by the budget after step 11 (mid-epoch 1): checkpoints at 5, 8 (epoch end), 10,
      // and the final weights at 11.
      const first = collect();
      await runTrial({ ...cfg, budget: { ...cfg.budget, steps: 11 } }, { onEvent: first.onEvent, checkpointDir: dir });
      const saved = first.events.flatMap((e) => (e.type === 'checkpoint' ? [e.step] : []));
      assert.deepEqual(saved, [5, 8, 10, 11]);
      assert.deepEqual(readdirSync(dir).sort(), ['step-000000005.ckpt', 'step-000000008.ckpt', 'step-000000010.ckpt', 'step-000000011.ckpt']);
      assert.equal(readCheckpoint<{ step: number }>(join(dir, 'step-000000010.ckpt')).meta.step, 10);
      assert.equal(readCheckpoint<{ step: number }>(join(dir, 'step-000000011.ckpt')).meta.step, 11);
      const second = collect();
      const s2 = await runTrial(cfg, { onEvent: second.onEvent, resumeFrom: join(dir, 'step-000000010.ckpt') });
      const resumed = second.losses();
      assert.equal(resumed.length, 6);
      assert.deepEqual(resumed, full.losses().slice(10), 'losses after resume differ');
      assert.deepEqual(first.losses(), full.losses().slice(0, 11));
      for (const k of ['val_loss', 'test_accuracy', 'train_loss', 'best_val_loss', 'orthogonality_error']) assert.equal(s2[k], s1[k], k);
      // A checkpoint refuses a different config.
      await assert.rejects(runTrial({ ...cfg, seed: 8 }, { resumeFrom: dir }), /resume: checkpoint .* belongs to a different config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops with a clear reason on a non-finite loss or gradient', async () => {
    const before = tf.memory().numTensors;
    const c = collect();
    await assert.rejects(
      runTrial(tinyTrial({ model: { type: 'hadamrnn', hidden: 8, bits: null }, optimizer: { name: 'sgd', lr: 1e30 } }), { onEvent: c.onEvent }),
      (err: unknown) => {
        assert.ok(err instanceof TrialStoppedError);
        assert.equal(err.reason, 'non-finite');
        assert.match(err.message, /^training stopped at step \d+ \(epoch 0\): the (training loss|gradient norm) is (NaN|Infinity) \(non-finite\); no update was applied$/);
        return true;
      },
    );
    assert.ok(c.events.some((e) => e.type === 'log' && e.level === 'error'));
    assert.equal(tf.memory().numTensors, before, 'leaked tensors after the stop');
  });

  it('a parameterization that diverges on non-finite weights stops the run the same way', async () => {
    await assert.rejects(
      runTrial(tinyTrial({ model: { type: 'ornn', hidden: 8, orthogonal: 'bjorck', activation: 'relu' }, optimizer: { name: 'sgd', lr: 1e30 } })),
      (err: unknown) => err instanceof TrialStoppedError && err.reason === 'non-finite' && /^training stopped at step \d+ \(epoch 0\): the projection after the update failed: bjorck: iteration diverged/.test(err.message),
    );
  });

  it('an abort signal stops the run, writing a checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oq-train-'));
    try {
      const ac = new AbortController();
      const events: TrainEvent[] = [];
      await assert.rejects(
        runTrial(tinyTrial(), {
          signal: ac.signal,
          checkpointDir: dir,
          onEvent: (e) => {
            events.push(e);
            if (e.type === 'step' && e.step === 3) ac.abort(new Error('user pressed ctrl-c'));
          },
        }),
        /training aborted at step 3 \(epoch 0\): user pressed ctrl-c/,
      );
      assert.deepEqual(readdirSync(dir), ['step-000000003.ckpt']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ptq mode with integer-only settings alone trains and leaves the weight-only PTQ out', async () => {
    const s = await runTrial(tinyTrial({ mode: 'ptq', ptq: { actBits: 12 }, budget: { epochs: 1, evalBatches: 1 } }));
    assert.ok(Number.isFinite(s.test_loss));
    assert.equal(s.ptq_test_loss, undefined);
  });

  it('ptq mode evaluates a k-bit copy of the float model', async () => {
    const s = await runTrial(
      tinyTrial({ model: { type: 'ornn', hidden: 8, orthogonal: 'cayley' }, mode: 'ptq', ptq: { bits: 3 }, budget: { epochs: 1, evalBatches: 1 } }),
    );
    assert.equal(s.ptq_recurrent_bits, 3 * 64 + 32);
    assert.equal(s.recurrent_bits, 32 * 64);
    assert.ok(s.ptq_size_bits < s.size_bits);
    assert.ok(Number.isFinite(s.ptq_val_loss) && s.ptq_orthogonality_error > 0);
  });

  it('PTB characters: token embedding, hidden state carried across BPTT windows, bits per character', () =>
    withTempDir(async (dir) => {
      writePtbFixture(dir);
      const c = collect();
      const s = await runTrial(
        tinyTrial({
          task: { name: 'ptb-char', path: dir, bptt: 5 },
          model: { type: 'hadamrnn', hidden: 16, embeddingDim: 6, bits: 4 },
          batchSize: 2,
          evalBatchSize: 1,
          budget: { epochs: 3 },
        }),
        { onEvent: c.onEvent },
      );
      assert.ok(Math.abs(s.val_bpc - s.val_loss / Math.LN2) < 1e-9, `bpc ${s.val_bpc} vs loss ${s.val_loss}`);
      const train = c.events.flatMap((e) => (e.type === 'epoch' ? [e.metrics.train_loss] : []));
      assert.equal(train.length, 3);
      assert.ok(train[2] < train[0], `train loss per epoch ${train}`);
    }));

  it('IMDB (aclImdb folder): last-step readout, one sigmoid logit', () =>
    withTempDir(async (dir) => {
      writeAclImdbFixture(dir);
      const s = await runTrial(
        tinyTrial({
          task: { name: 'imdb', path: dir, format: 'aclImdb', vocabSize: 30, maxLen: 8 },
          model: { type: 'qornn', hidden: 8, embeddingDim: 4, bits: 4 },
          batchSize: 2,
          budget: { epochs: 1 },
        }),
      );
      assert.ok(s.val_accuracy >= 0 && s.val_accuracy <= 1 && Number.isFinite(s.test_loss));
    }));

  it('GLUE QQP (fixture TSVs + tiny WordPiece vocabulary): Block-HadamRNN, balanced sampler, test accuracy and F1', () =>
    withTempDir(async (dir) => {
      writeGlueFixture(dir);
      const s = await runTrial(
        tinyTrial({
          task: { name: 'qqp', path: dir, maxLen: 24, sampler: 'balanced' },
          model: { type: 'hadamrnn', hidden: 8, embeddingDim: 4, bits: 4, blockSize: 4 },
          batchSize: 2,
          budget: { epochs: 1 },
        }),
      );
      assert.ok(s.test_f1 >= 0 && s.test_f1 <= 1 && Number.isFinite(s.test_loss) && s.val_accuracy >= 0);
    }));
});

describe('loss', () => {
  it('fused softmax cross-entropy: value and gradient equal tfjs’s own composition', async () => {
    const { lossTensor } = await import('./loss.js');
    const z = tf.tensor3d(Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i) * 3), [2, 3, 4]);
    const y = tf.tensor2d([0, 3, 1, 2, 2, 0], [2, 3], 'int32');
    const ref = (l: tf.Tensor) => tf.mean(tf.sub(tf.logSumExp(l.reshape([6, 4]), 1), tf.sum(tf.mul(l.reshape([6, 4]), tf.oneHot(y.reshape([6]), 4)), 1)));
    const a = tf.grad((l: tf.Tensor) => lossTensor(l, y, 'softmax-cross-entropy'))(z);
    const b = tf.grad(ref)(z);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    assert.ok(diff < 1e-6, `gradient differs by ${diff}`);
    const va = tf.tidy(() => lossTensor(z, y, 'softmax-cross-entropy').dataSync()[0]);
    const vb = tf.tidy(() => ref(z).dataSync()[0]);
    assert.ok(Math.abs(va - vb) < 1e-6);
    tf.dispose([z, y, a, b]);
  });
});

/**
 * Every tiny model, on the composed ops and on the fused dense loss (ORTHOQUANT_FUSED_DENSE): the
 * fused training loss equals lossTensor(forward(x)) in value (within `lossTol`, relative) and in
 * the gradient of every trainable variable (within 1e-4), without leaking tensors. Returns the
 * model types covered.
 */
function checkFusedLoss(lossTensor: typeof import('./loss.js').lossTensor, io: Parameters<typeof createModel>[1], x: tf.Tensor, y: tf.Tensor, o: { seed: number; lossTol: number; applies: string }): Set<string> {
  const types = new Set<string>();
  for (const [label, config, dense] of tinyConfigs(8).flatMap(({ label, config }) => [[label, config, false], [`${label} (fused dense)`, config, true]] as const)) {
    setFusedDense(dense);
    const model = createModel(config, io, o.seed);
    try {
      types.add(config.type);
      const g = model.trainableVariables();
      const vars = [...g.orthogonal, ...g.other, ...g.managed.map((m) => m.variable)];
      const before = tf.memory().numTensors;
      const ref = tf.variableGrads(() => lossTensor(model.forward(x), y, 'softmax-cross-entropy'), vars);
      const fused = tf.variableGrads(() => {
        const r = model.trainingLoss!(x, y);
        assert.ok(r, `${label}: trainingLoss applies to ${o.applies}`);
        return r.loss;
      }, vars);
      const a = fused.value.dataSync()[0];
      const b = ref.value.dataSync()[0];
      assert.ok(Number.isFinite(b) && Math.abs(a - b) <= o.lossTol * Math.abs(b), `${label}: loss ${a} vs ${b}`);
      for (const v of vars) {
        const ga = fused.grads[v.name];
        const gb = ref.grads[v.name];
        assert.ok(ga && gb, `${label}: gradient of ${v.name} missing`);
        const [num, den] = tf.tidy(() => [tf.norm(tf.sub(ga, gb)).dataSync()[0], tf.norm(gb).dataSync()[0]]);
        assert.ok(num <= 1e-4 * Math.max(den, 1e-6), `${label}: d${v.name} relative error ${num / den} (|g| = ${den})`);
      }
      tf.dispose([ref.value, fused.value, ...Object.values(ref.grads), ...Object.values(fused.grads)]);
      assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
    } finally {
      model.dispose();
    }
  }
  setFusedDense(null);
  return types;
}

describe('fused training loss (readout + softmax cross-entropy)', () => {
  it('equals lossTensor(forward(x)) in value and in the gradient of every trainable variable, without leaks', async () => {
    const { lossTensor } = await import('./loss.js');
    const task = createTask({ name: 'copy', T: 12, K: 2, trainSize: 64, valSize: 16, testSize: 16, seed: 3 });
    assert.equal(task.loss, 'softmax-cross-entropy');
    const batch = task.epochBatches('train', 16, createRng(5).fork('data').fork(0)).next().value!;
    const { x, y } = batchToTensors(batch, task.inputDim);
    // Dense ORNN/QORNN: the composed ops (setFusedDense(false)) and denseRnnLoss (true, the default).
    const types = checkFusedLoss(lossTensor, modelIO(task), x, y, { seed: 11, lossTol: 1e-4, applies: 'a many-to-many copy task' });
    for (const t of ['hadamrnn', 'qornn', 'ornn']) assert.ok(types.has(t), `covers ${t}`);
    tf.dispose([x, y]);
  });

  it('last-step readout (pMNIST\'s shape): equals lossTensor(forward(x)) in value and every gradient, every model', async () => {
    const { lossTensor } = await import('./loss.js');
    const io = { inputSize: 3, outputSize: 5, readout: 'last' as const };
    const x = randomInputs(7, 4, 3, 5);
    const y = tf.tensor1d([4, 0, 2, 1], 'int32');
    checkFusedLoss(lossTensor, io, x, y, { seed: 13, lossTol: 1e-5, applies: 'a last-step readout' });
    tf.dispose([x, y]);
  });

  it('one-hot inputs as hot indices (the trainer\'s copy batches): same loss, gradients and logits as the float rows', () => {
    const task = createTask({ name: 'copy', T: 12, K: 2, trainSize: 64, valSize: 16, testSize: 16, seed: 3 });
    const batch = task.epochBatches('train', 16, createRng(5).fork('data').fork(0)).next().value!;
    assert.ok(batch.inputKind === 'dense' && batch.hot, 'copy batches carry their hot indices');
    const dense = batchToTensors(batch, task.inputDim);
    const hot = batchToTensors(batch, task.inputDim, { hotIndices: true });
    assert.deepEqual(hot.x.shape, [12, 16]);
    assert.equal(hot.x.dtype, 'int32');
    for (const { label, config } of tinyConfigs(8)) {
      const model = createModel(config, modelIO(task), 11);
      try {
        assert.equal(model.oneHotIndices, true, `${label}: takes hot indices`);
        const g = model.trainableVariables();
        const vars = [...g.orthogonal, ...g.other, ...g.managed.map((m) => m.variable)];
        const before = tf.memory().numTensors;
        const a = tf.variableGrads(() => model.trainingLoss!(dense.x, dense.y)!.loss, vars);
        const b = tf.variableGrads(() => model.trainingLoss!(hot.x, hot.y)!.loss, vars);
        const la = a.value.dataSync()[0];
        const lb = b.value.dataSync()[0];
        assert.ok(Math.abs(la - lb) <= 1e-5 * la, `${label}: loss ${lb} vs ${la}`);
        for (const v of vars) {
          const [num, den] = tf.tidy(() => [tf.norm(tf.sub(a.grads[v.name], b.grads[v.name])).dataSync()[0], tf.norm(a.grads[v.name]).dataSync()[0]]);
          assert.ok(num <= 1e-5 * Math.max(den, 1e-6), `${label}: d${v.name} relative difference ${num / den}`);
        }
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(model.forward(dense.x), model.forward(hot.x)))).dataSync()[0]);
        assert.equal(diff, 0, `${label}: logits`);
        tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
        assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
      } finally {
        model.dispose();
      }
    }
    tf.dispose([dense.x, dense.y, hot.x, hot.y]);
  });

  it('with a carried state: same loss and final state as forwardWithState; the last-step readout too', async () => {
    const { lossTensor } = await import('./loss.js');
    const io = { inputSize: 3, outputSize: 5, readout: 'many-to-many' as const };
    const model = createModel({ type: 'hadamrnn', hidden: 8, bits: 4, activation: 'linear', readoutActivation: 'linear', readout: 'auto' }, io, 2);
    const x = randomInputs(6, 4, 3, 9);
    const y = tf.tensor2d(Array.from({ length: 24 }, (_, i) => (i * 7) % 5), [6, 4], 'int32');
    const h0 = [tf.randomNormal([4, 8], 0, 1, 'float32', 4) as tf.Tensor2D];
    const before = tf.memory().numTensors;
    const r = model.forwardWithState(x, h0);
    const refLoss = lossTensor(r.logits, y, 'softmax-cross-entropy');
    const f = model.trainingLoss!(x, y, h0, true)!;
    const diff = tf.tidy(() => [Math.abs(f.loss.dataSync()[0] - refLoss.dataSync()[0]), tf.max(tf.abs(tf.sub(f.state[0], r.state[0]))).dataSync()[0]]);
    assert.ok(diff[0] <= 1e-5 && diff[1] === 0, `loss/state differ: ${diff}`);
    tf.dispose([r.logits, ...r.state, refLoss, f.loss, ...f.state]);
    assert.equal(tf.memory().numTensors, before);
    const last = createModel({ type: 'hadamrnn', hidden: 8, bits: 4, activation: 'linear', readoutActivation: 'relu', readout: 'last' }, io, 2);
    const yLast = tf.tensor1d([4, 0, 2, 1], 'int32');
    const lastRef = tf.tidy(() => lossTensor(last.forward(x, h0), yLast, 'softmax-cross-entropy').dataSync()[0]);
    const lastFused = last.trainingLoss!(x, yLast, h0)!;
    assert.ok(Math.abs(lastFused.loss.dataSync()[0] - lastRef) <= 1e-5 * lastRef, `last step: ${lastFused.loss.dataSync()[0]} vs ${lastRef}`);
    tf.dispose([lastFused.loss, ...lastFused.state, yLast]);
    tf.dispose([x, y, ...h0]);
    model.dispose();
    last.dispose();
  });

  it('the trainer uses it by default and ORTHOQUANT_FUSED_LOSS=0 switches it off (same losses)', async () => {
    const run = async (flag: string | undefined) => {
      const prev = process.env.ORTHOQUANT_FUSED_LOSS;
      if (flag === undefined) delete process.env.ORTHOQUANT_FUSED_LOSS;
      else process.env.ORTHOQUANT_FUSED_LOSS = flag;
      try {
        const c = collect();
        await runTrial(tinyTrial({ budget: { epochs: 1 } }), { onEvent: c.onEvent });
        return c.losses();
      } finally {
        if (prev === undefined) delete process.env.ORTHOQUANT_FUSED_LOSS;
        else process.env.ORTHOQUANT_FUSED_LOSS = prev;
      }
    };
    const fused = await run(undefined);
    const plain = await run('0');
    assert.equal(fused.length, plain.length);
    assert.ok(fused.length > 0);
    // The first step's loss comes from identical weights; later steps drift by rounding only.
    assert.ok(Math.abs(fused[0] - plain[0]) <= 1e-4 * plain[0], `${fused[0]} vs ${plain[0]}`);
    fused.forEach((l, i) => assert.ok(Math.abs(l - plain[i]) <= 1e-2 * plain[i], `step ${i}: ${l} vs ${plain[i]}`));
    // The trainer reads the switch (an invalid value stops it before any step).
    process.env.ORTHOQUANT_FUSED_LOSS = 'x';
    await assert.rejects(runTrial(tinyTrial({ budget: { epochs: 1 } })), /ORTHOQUANT_FUSED_LOSS/);
    delete process.env.ORTHOQUANT_FUSED_LOSS;
  });
});
