import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSweepText, loadSweepFile, SweepSpecError } from './index.js';
import { isInputError } from '@orthoquant/runtime';

function errorOf(text: string, file = 'bad.yaml'): SweepSpecError {
  try {
    parseSweepText(text, { file });
  } catch (e) {
    assert.ok(e instanceof SweepSpecError, `expected a SweepSpecError, got ${e}`);
    assert.ok(isInputError(e), 'the CLI maps InputError to its bad-input exit code');
    return e;
  }
  assert.fail('parsed without error');
}

test('YAML syntax errors: file, line and column from the parser', () => {
  const e = errorOf('name: x\nparameters:\n  a: { values: [1, 2\n  b: 3\n');
  assert.equal(e.issues[0].file, 'bad.yaml');
  assert.equal(e.issues[0].line, 4);
  assert.match(e.message, /^bad\.yaml:\d+:\d+: YAML: /);
  const dup = errorOf('name: x\nname: y\n');
  assert.match(dup.message, /^bad\.yaml:2:1: YAML: Map keys must be unique/);
});

test('unknown and mistyped top-level keys point at the key, with the expected keys', () => {
  const e = errorOf('name: x\nmethod: grid\nparameter:\n  a: { values: [1] }\n');
  assert.equal(e.message, 'bad.yaml:3:1: parameter: unknown key (expected name, description, method, count, seed, mode, base, parameters, seeds, include, exclude)');
  assert.equal(errorOf('name: x\nmethod: bayes\n').message, `bad.yaml:2:9: method: expected 'grid' or 'random', got 'bayes'`);
  assert.equal(errorOf('name: x\nmode: int8\n').message, `bad.yaml:2:7: mode: expected 'qat' or 'ptq', got 'int8'`);
  assert.equal(errorOf('name: "my sweep"\n').message, `bad.yaml:1:7: name: expected letters, digits, '.', '_' or '-' (starting with a letter or digit), got 'my sweep'`);
  assert.equal(errorOf('- a\n- b\n').message, `bad.yaml:1:1: expected a mapping with parameters (and name, method, base, seeds…), got ["a","b"]`);
});

test('parameter errors carry the full key path through nested parameters', () => {
  const text = ['name: x', 'parameters:', '  model:', '    parameters:', '      bits: { vaules: [2, 4] }', '      hidden: 64', '  lr: { values: [] }', '  wd: { min: 1, max: 0.5, distribution: uniform }', ''].join('\n');
  const e = errorOf(text);
  assert.deepEqual(
    e.issues.map((i) => `${i.line}:${i.col} ${i.path.join('/')}`),
    ['5:13 parameters/model/parameters/bits', '6:15 parameters/model/parameters/hidden', '7:17 parameters/lr/values', '8:7 parameters/wd'],
  );
  assert.match(e.message, /bad\.yaml:5:13: parameters\.model\.parameters\.bits: expected one of value: x, values: \[\.\.\], min\/max with a distribution, or parameters: \(nested keys\); got keys vaules/);
  assert.match(e.message, /bad\.yaml:6:15: parameters\.model\.parameters\.hidden: expected a mapping .*got 64; for a constant write 'hidden: \{ value: 64 \}'/);
  assert.match(e.message, /bad\.yaml:7:17: parameters\.lr\.values: expected a non-empty list, got \[\]/);
  assert.match(e.message, /bad\.yaml:8:7: parameters\.wd: method: grid needs 'values' or 'value' \(a uniform distribution can only be sampled: use method: random\)/);
});

test('random-search rules: count required, bounds checked, distribution names listed', () => {
  assert.equal(errorOf('name: x\nmethod: random\nparameters:\n  a: { values: [1] }\n').message, 'bad.yaml:2:9: method: method: random needs count (the number of trials to sample)');
  const e = errorOf(
    ['name: x', 'method: random', 'count: 4', 'parameters:', '  lr: { min: 0, max: 1, distribution: log_uniform_values }', '  b: { min: 3, max: 1 }', '  c: { min: 0, max: 1, distribution: gaussian }', '  d: { values: [1, 2], probabilities: [1] }', '  e: { min: 0.5, max: 2, distribution: int_uniform }', ''].join('\n'),
  );
  assert.match(e.message, /5:14: parameters\.lr\.min: log_uniform_values needs min > 0, got 0/);
  assert.match(e.message, /6:21: parameters\.b\.max: expected max > min \(3\), got 1/);
  assert.match(e.message, /7:38: parameters\.c\.distribution: expected one of uniform, int_uniform, q_uniform, .*got 'gaussian'/);
  assert.match(e.message, /8:39: parameters\.d\.probabilities: expected 2 probabilities \(one per value\), got 1/);
  assert.match(e.message, /9:6: parameters\.e: int_uniform needs integer min and max, got 0\.5 and 2/);
  assert.equal(errorOf('name: x\ncount: 3\nparameters:\n  a: { values: [1] }\n').message, 'bad.yaml:2:1: count: count only applies to method: random (a grid runs every combination)');
});

test('seeds, include/exclude and overlapping parameters', () => {
  assert.match(errorOf('name: x\nseeds: 0\n').message, /bad\.yaml:2:8: seeds: expected a list of seeds or a count ≥ 1, got 0/);
  assert.match(errorOf('name: x\nseeds: [1, 1]\n').message, /bad\.yaml:2:8: seeds: seeds must be distinct, got \[1,1\]/);
  assert.match(errorOf('name: x\nseeds: 2\nparameters:\n  seed: { values: [1, 2] }\n').message, /bad\.yaml:2:1: seeds: give seeds: or a 'seed' parameter, not both/);
  assert.match(errorOf('name: x\ninclude: { a: 1 }\n').message, /bad\.yaml:2:10: include: expected a list of partial configs, got \{"a":1\}/);
  assert.match(errorOf('name: x\nexclude:\n  - 3\n').message, /bad\.yaml:3:5: exclude\[0\]: expected a mapping of config keys, got 3/);
  assert.match(errorOf('name: x\ninclude:\n  - { a.b: 1, a: 2 }\n').message, /bad\.yaml:3:15: include\[0\]\.a: 'a' is given twice/);
  assert.match(errorOf('name: x\nparameters:\n  model.bits: { values: [2] }\n  model:\n    parameters:\n      bits: { values: [4] }\n').message, /parameters: parameter 'model\.bits' overlaps parameter 'model\.bits'/);
});

test('base files: missing file and YAML errors inside it are reported with their own position', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orthoquant-spec-'));
  try {
    writeFileSync(join(dir, 'broken.yaml'), 'task:\n  name: [copy\n');
    writeFileSync(join(dir, 'list.yaml'), '- 1\n');
    writeFileSync(join(dir, 's1.yaml'), 'name: s1\nbase: nowhere.yaml\n');
    writeFileSync(join(dir, 's2.yaml'), 'name: s2\nbase: [list.yaml]\n');
    writeFileSync(join(dir, 's3.yaml'), 'name: s3\nbase: broken.yaml\n');
    assert.throws(() => loadSweepFile(join(dir, 's1.yaml')), new RegExp(`s1\\.yaml:2:7: base: cannot read base config ${dir}/nowhere\\.yaml: ENOENT`));
    assert.throws(() => loadSweepFile(join(dir, 's2.yaml')), new RegExp(`s2\\.yaml:2:8: base\\[0\\]: base config ${dir}/list\\.yaml must be a mapping, got \\[1\\]`));
    assert.throws(() => loadSweepFile(join(dir, 's3.yaml')), new RegExp(`${dir}/broken\\.yaml:\\d+:\\d+: YAML: `));
    assert.throws(() => loadSweepFile(join(dir, 'absent.yaml')), new RegExp(`${dir}/absent\\.yaml: cannot read sweep file: no such file`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
