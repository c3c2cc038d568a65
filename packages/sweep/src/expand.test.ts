import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSweepText, loadSweepFile, expandSweep, canonicalJson, configHash, trialSetFingerprint } from './index.js';

const GRID = `
name: g
base:
  task: { name: copy, length: 10 }
  model: { type: qornn, hidden: 32 }
parameters:
  model:
    parameters:
      bits: { values: [2, 4, 8] }
  optimizer.lr: { values: [0.01, 0.001] }
  task.name: { value: copy }
seeds: [0, 1]
`;

test('canonical JSON: sorted keys at every depth, normalized numbers, plain data only', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: -0 }], c: 1.0 }, u: undefined }), '{"a":{"c":1,"d":[1,{"y":0,"z":0}]},"b":1}');
  assert.equal(configHash({ lr: 1e-3, bits: 4 }), configHash({ bits: 4.0, lr: 0.001 }));
  assert.notEqual(configHash({ bits: 4 }), configHash({ bits: '4' }));
  assert.match(configHash({ x: 1 }), /^[0-9a-f]{64}$/);
  assert.throws(() => canonicalJson({ a: { b: NaN } }), /canonical JSON: a\.b: expected a finite number, got NaN/);
  assert.throws(() => canonicalJson({ when: new Date(0) }), /when: expected plain data, got Date/);
  assert.throws(() => canonicalJson({ xs: [1, undefined] }), /xs\[1\]: undefined in an array/);
  assert.equal(trialSetFingerprint(['b', 'a']), trialSetFingerprint(['a', 'b']));
});

test('grid: product size, nesting and dotted keys, seeds innermost, first parameter slowest', () => {
  const e = expandSweep(parseSweepText(GRID));
  assert.equal(e.trials.length, 3 * 2 * 2);
  assert.deepEqual(
    e.trials.slice(0, 5).map((t) => t.label),
    ['model.bits=2 optimizer.lr=0.01 seed=0', 'model.bits=2 optimizer.lr=0.01 seed=1', 'model.bits=2 optimizer.lr=0.001 seed=0', 'model.bits=2 optimizer.lr=0.001 seed=1', 'model.bits=4 optimizer.lr=0.01 seed=0'],
  );
  assert.deepEqual(e.trials[0].config, { mode: 'qat', model: { bits: 2, hidden: 32, type: 'qornn' }, optimizer: { lr: 0.01 }, seed: 0, task: { length: 10, name: 'copy' } });
  assert.equal(new Set(e.trials.map((t) => t.hash)).size, 12);
  assert.deepEqual(
    e.trials.map((t) => t.index),
    [...Array(12).keys()],
  );
  assert.ok(e.trials.every((t) => t.mode === 'qat' && t.source === 'grid'));
});

test('hashes are stable under key order, dotted vs nested form, and 1 vs 1.0', () => {
  const a = expandSweep(parseSweepText(GRID));
  const b = expandSweep(
    parseSweepText(`
seeds: [0, 1]
parameters:
  task.name: { value: copy }
  optimizer:
    parameters:
      lr: { values: [1.0e-2, 0.0010] }
  model.bits: { values: [2, 4, 8] }
base: { model: { hidden: 32.0, type: qornn }, task: { length: 10, name: copy } }
name: g
`),
  );
  assert.deepEqual([...a.trials.map((t) => t.hash)].sort(), [...b.trials.map((t) => t.hash)].sort());
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notDeepEqual(
    a.trials.map((t) => t.hash),
    b.trials.map((t) => t.hash),
    'the order differs (bits vs lr slowest), the set does not',
  );
});

test('seeds: N means 0..N-1; mode is written into every config; include and exclude', () => {
  const e = expandSweep(
    parseSweepText(`
name: x
mode: ptq
base: { ptq: { bits: 4 } }
parameters:
  model.type: { values: [hadamrnn, qornn] }
  model.bits: { values: [2, 4] }
seeds: 3
exclude:
  - { model.type: hadamrnn, model.bits: 4 }
include:
  - { model.type: lstm, model.bits: null }
  - { model: { type: lstm, bits: null }, seed: 42 }
`),
  );
  assert.deepEqual(e.excluded, [1], 'one combination (× 3 seeds) dropped');
  assert.equal(e.trials.length, 3 * 3 + 3 + 1);
  assert.ok(e.trials.every((t) => t.mode === 'ptq' && t.config.mode === 'ptq'));
  assert.ok(!e.trials.some((t) => (t.config.model as { type: string; bits: number }).type === 'hadamrnn' && (t.config.model as { bits: number }).bits === 4));
  const inc = e.trials.filter((t) => t.source === 'include');
  assert.deepEqual(
    inc.map((t) => t.config.seed),
    [0, 1, 2, 42],
  );
  assert.equal(inc[0].label, 'include: model.type=lstm model.bits=null seed=0');
  assert.deepEqual(inc[3].config.model, { type: 'lstm', bits: null });
});

test('duplicates are kept once; an exclude key that no trial has is an error with its position', () => {
  const e = expandSweep(parseSweepText(`name: d\nparameters:\n  a: { values: [1, 2] }\ninclude:\n  - { a: 1 }\n`));
  assert.equal(e.trials.length, 2);
  assert.equal(e.duplicates, 1);
  assert.throws(
    () => expandSweep(parseSweepText(`name: d\nparameters:\n  model.bits: { values: [1, 2] }\nexclude:\n  - { model.bitz: 1 }\n`, { file: 'ex.yaml' })),
    /ex\.yaml:5:5: exclude\[0\]\.model\.bitz: no trial has this key \(known keys: model\.bits\)/,
  );
  assert.throws(() => expandSweep(parseSweepText(`name: d\nparameters:\n  a: { values: [1] }\nexclude:\n  - { a: 1 }\n`)), /expands to no trials/);
});

test('random: deterministic per sweep seed, distributions in range, raising count keeps earlier samples', () => {
  const text = (count: number, seed = 7) => `
name: r
method: random
count: ${count}
seed: ${seed}
parameters:
  lr: { min: 1.0e-4, max: 1.0e-1, distribution: log_uniform_values }
  hidden: { min: 16, max: 64 }
  dropout: { min: 0, max: 0.5 }
  wd: { min: 0, max: 1, distribution: q_uniform, q: 0.1 }
  noise: { mu: 0, sigma: 2, distribution: normal }
  act: { values: [relu, tanh], probabilities: [0, 1] }
  fixed: { value: { deep: [1, 2] } }
`;
  const a = expandSweep(parseSweepText(text(20)));
  const b = expandSweep(parseSweepText(text(20)));
  assert.deepEqual(
    a.trials.map((t) => t.hash),
    b.trials.map((t) => t.hash),
  );
  const more = expandSweep(parseSweepText(text(30)));
  assert.deepEqual(
    more.trials.slice(0, 20).map((t) => t.hash),
    a.trials.map((t) => t.hash),
  );
  const other = expandSweep(parseSweepText(text(20, 8)));
  assert.notDeepEqual(
    other.trials.map((t) => t.hash),
    a.trials.map((t) => t.hash),
  );
  for (const t of more.trials) {
    const c = t.config as { lr: number; hidden: number; dropout: number; wd: number; noise: number; act: string; fixed: unknown };
    assert.ok(c.lr >= 1e-4 && c.lr < 0.1, `lr ${c.lr}`);
    assert.ok(Number.isInteger(c.hidden) && c.hidden >= 16 && c.hidden <= 64, `hidden ${c.hidden}`);
    assert.ok(c.dropout >= 0 && c.dropout < 0.5);
    assert.ok(Number.isInteger(Math.round(c.wd * 10)) && Math.abs(c.wd * 10 - Math.round(c.wd * 10)) < 1e-9, `wd ${c.wd}`);
    assert.equal(c.act, 'tanh');
    assert.deepEqual(c.fixed, { deep: [1, 2] });
  }
  const hiddens = new Set(more.trials.map((t) => (t.config as { hidden: number }).hidden));
  assert.ok(hiddens.size > 10, 'int_uniform should spread');
});

test('resolve hook: the resolved config is hashed; its errors are collected with the trial', () => {
  const spec = parseSweepText(`name: v\nparameters:\n  bits: { values: [2, 4, 99] }\n`, { file: 'v.yaml' });
  const resolve = (c: Record<string, unknown>, where: string) => {
    if ((c.bits as number) > 16) throw new Error(`${where}: bits: expected an integer in 1..16, got ${c.bits}`);
    return { ...c, hidden: 128 };
  };
  assert.throws(() => expandSweep(spec, { resolve }), /1 invalid trial config:\nv\.yaml: trial 2 \(bits=99\): bits: expected an integer in 1\.\.16, got 99/);
  const ok = expandSweep(parseSweepText(`name: v\nparameters:\n  bits: { values: [2, 4] }\n`), { resolve });
  assert.deepEqual(ok.trials[0].config, { bits: 2, hidden: 128, mode: 'qat' });
  assert.equal(ok.trials[0].hash, configHash({ mode: 'qat', hidden: 128, bits: 2 }));
});

test('a sweep whose trials are all invalid: each error names its own trial number and label', () => {
  const spec = parseSweepText(`name: v\nparameters:\n  bits: { values: [0, 99, 100] }\nseeds: [0, 1]\n`, { file: 'v.yaml' });
  const resolve = (c: Record<string, unknown>, where: string) => {
    throw new Error(`${where}: bits: expected an integer in 1..16, got ${c.bits}`);
  };
  assert.throws(
    () => expandSweep(spec, { resolve }),
    (e: Error) => {
      const lines = e.message.split('\n').slice(1);
      assert.deepEqual(
        lines.map((l) => /trial (\d+) \(([^)]*)\)/.exec(l)?.slice(1).join(' ')),
        ['0 bits=0 seed=0', '1 bits=0 seed=1', '2 bits=99 seed=0', '3 bits=99 seed=1', '4 bits=100 seed=0', '5 bits=100 seed=1'],
      );
      return /^v\.yaml: 6 invalid trial configs:/.test(e.message);
    },
  );
});

test('base: files relative to the sweep file, mappings, lists merged in order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orthoquant-base-'));
  try {
    mkdirSync(join(dir, 'presets'));
    writeFileSync(join(dir, 'presets', 'copy.yaml'), 'task:\n  name: copy\n  length: 100\nbatchSize: 64\n');
    writeFileSync(join(dir, 'sweep.yaml'), `parameters:\n  model.bits: { values: [2] }\nbase:\n  - presets/copy.yaml\n  - { task.length: 20 }\n`);
    const spec = loadSweepFile(join(dir, 'sweep.yaml'));
    assert.equal(spec.name, 'sweep');
    assert.deepEqual(spec.baseFiles, [join(dir, 'presets', 'copy.yaml')]);
    assert.deepEqual(expandSweep(spec).trials[0].config, { batchSize: 64, mode: 'qat', model: { bits: 2 }, task: { length: 20, name: 'copy' } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
