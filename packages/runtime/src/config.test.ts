import test from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { getPath, int, issueMessages, keyPathText, num, oneOf, parseWith, parseYamlSource, parseYamlWith, show } from './config.js';

test('show, keyPathText, getPath', () => {
  assert.equal(show('x'), "'x'");
  assert.equal(show(undefined), 'nothing');
  assert.equal(show(NaN), 'NaN');
  assert.equal(show({ a: [1, 2] }), '{"a":[1,2]}');
  assert.equal(show({ long: 'x'.repeat(100) }, 20), '{"long":"xxxxxxxx...');
  assert.equal(keyPathText(['rows', 0, 'label']), 'rows[0].label');
  assert.equal(keyPathText([0, 'a']), '[0].a');
  const o = { model: { bits: 4, list: [{ k: 1 }] } };
  assert.equal(getPath(o, 'model.bits'), 4);
  assert.equal(getPath(o, ['model', 'list', 0, 'k']), 1);
  assert.equal(getPath(o, 'model.bits.x'), undefined);
  assert.equal(getPath(o, ['nope', 'x']), undefined);
});

test('parseYamlSource locates key paths (the key, or its value); syntax errors carry line and column', () => {
  const { source } = parseYamlSource('a:\n  b: 1\n  c:\n    - x\n    - y\n', 'f.yaml');
  assert.ok(source);
  assert.equal(source.locate(['a', 'b']), 'f.yaml:2:6');
  assert.equal(source.locate(['a', 'b'], true), 'f.yaml:2:3');
  assert.equal(source.locate(['a', 'c', 1]), 'f.yaml:5:7');
  assert.equal(source.locate(['a', 'missing']), 'f.yaml:2:3', 'the deepest part that exists');
  const bad = parseYamlSource('a: 1\na: 2\n', 'dup.yaml');
  assert.equal(bad.source, null);
  assert.match(`${bad.errors[0].line}:${bad.errors[0].col} ${bad.errors[0].message}`, /^2:1 Map keys must be unique/);
});

test('parseYamlWith: file, line, column and key path of the first problem', () => {
  const schema = z.strictObject({ rows: z.array(z.strictObject({ label: z.string().min(1) })), n: int(1, 16).optional() });
  assert.deepEqual(parseYamlWith('rows:\n  - label: a\n', 't.yaml', schema), { rows: [{ label: 'a' }] });
  assert.throws(() => parseYamlWith('rows:\n  - label: a\n  - label: 3\n', 't.yaml', schema), /^InputError: t\.yaml:3:12: rows\.1\.label: /);
  assert.throws(() => parseYamlWith('rows: []\nn: 0\n', 't.yaml', schema), /^InputError: t\.yaml:2:4: n: expected an integer in 1\.\.16, got 0$/);
  assert.throws(() => parseYamlWith('rows: [\n', 't.yaml', schema), /^InputError: t\.yaml:\d+:\d+: invalid YAML: /);
});

test('int, num, oneOf and issueMessages say what was expected and what was given, at the key path', () => {
  const schema = z.strictObject({ a: int(1), b: num(0, 1, true), c: oneOf(['x', 'y'] as const), d: z.strictObject({ e: int(0, 3) }) });
  const r = schema.safeParse({ a: 0, b: 0, c: 'z', d: { e: 4, f: 1 } });
  assert.equal(r.success, false);
  assert.deepEqual(issueMessages(r.error!.issues, ['cfg']), [
    'cfg.a: expected an integer ≥ 1, got 0',
    'cfg.b: expected a number > 0 and ≤ 1, got 0',
    "cfg.c: expected one of 'x' | 'y', got 'z'",
    'cfg.d.e: expected an integer in 0..3, got 4',
    'cfg.d.f: unknown key',
  ]);
  assert.throws(() => parseWith(schema, { b: 1, c: 'x', d: { e: 0 } }, 'here.yaml'), /^InputError: here\.yaml: a: expected an integer ≥ 1, got nothing$/);
});
