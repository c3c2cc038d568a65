import test from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, compileFilter, FilterError, tables } from './index.js';
import { tempStore } from './testing.js';

test('parseFilter: fields, operators, values', () => {
  assert.deepEqual(parseFilter(''), []);
  const cs = parseFilter(`params.model.bits = 4 and metrics.test_acc > 0.9 AND status = done and best.train_loss <= 1e-2 and params.name != 'a b' and params.qat == true and mode = ptq and hash = ab12 and sweep = "quick start" and params.x = null and id >= 3`);
  assert.deepEqual(
    cs.map((c) => [c.field, c.op, c.value]),
    [
      [{ kind: 'param', path: ['model', 'bits'] }, '=', 4],
      [{ kind: 'metric', key: 'test_acc', which: 'final' }, '>', 0.9],
      [{ kind: 'column', name: 'status' }, '=', 'done'],
      [{ kind: 'metric', key: 'train_loss', which: 'best' }, '<=', 0.01],
      [{ kind: 'param', path: ['name'] }, '!=', 'a b'],
      [{ kind: 'param', path: ['qat'] }, '=', true],
      [{ kind: 'column', name: 'mode' }, '=', 'ptq'],
      [{ kind: 'column', name: 'hash' }, '=', 'ab12'],
      [{ kind: 'column', name: 'sweep' }, '=', 'quick start'],
      [{ kind: 'param', path: ['x'] }, '=', null],
      [{ kind: 'column', name: 'id' }, '>=', 3],
    ],
  );
  assert.equal(cs[1].pos, 26);
  assert.deepEqual(parseFilter('seed = 0 and Seed != 2').map((c) => c.field), [{ kind: 'param', path: ['seed'] }, { kind: 'param', path: ['seed'] }]);
});

function parseError(text: string): FilterError {
  try {
    parseFilter(text);
  } catch (e) {
    assert.ok(e instanceof FilterError, `expected a FilterError, got ${e}`);
    return e;
  }
  assert.fail(`'${text}' parsed`);
}

test('parse errors say what was expected and point at the column', () => {
  const e = parseError('params.bits = 4 and metrics.test_acc >');
  assert.equal(e.pos, 38);
  assert.equal(e.message, `filter: expected a value after '>', got end of filter at column 39\n  params.bits = 4 and metrics.test_acc >\n  ${' '.repeat(38)}^`);
  assert.match(parseError('params.bits = 4 or status = done').message, /'or' is not supported \(filters are AND-only\) at column 17/);
  assert.match(parseError('params.bits 4').message, /expected an operator \(=, !=, <, <=, >, >=\) after 'params.bits', got number 4 at column 13/);
  assert.match(parseError('bits = 4').message, /unknown field 'bits' \(expected params.<path>, metrics.<key>/);
  assert.match(parseError('status = finished').message, /status must be one of pending, running, done, failed, got 'finished' at column 10/);
  assert.match(parseError('status > done').message, /status can only be compared with = or !=/);
  assert.match(parseError('metrics.acc > high').message, /expected a number for metrics.acc, got "high"/);
  assert.match(parseError(`params.name = 'open`).message, /unterminated string \(missing closing '\) at column 15/);
  assert.match(parseError('params.a = 1 params.b = 2').message, /expected 'and' or end of filter, got 'params.b' at column 14/);
  assert.match(parseError('params.a = 1 & params.b = 2').message, /unexpected character '&' at column 14/);
  assert.match(parseError('params. = 1').message, /expected params.<key>/);
  assert.match(parseError('params.x < null').message, /null can only be compared with = or !=/);
});

test('compileFilter: values and JSON paths are bound parameters, never spliced into SQL', () => {
  const t = tempStore();
  try {
    const q = t.store.db
      .select()
      .from(tables.trials)
      .where(compileFilter(`params.model.bits = 4 and metrics.test_acc > 0.9 and params.name = "x'); DROP TABLE trials; --"`))
      .toSQL();
    assert.deepEqual(q.params, ['$."model"."bits"', 4, 'test_acc', 0.9, '$."name"', "x'); DROP TABLE trials; --"]);
    assert.ok(!q.sql.includes('DROP'), q.sql);
    assert.match(q.sql, /json_extract\("trials"\."config", \?\) = \?/);
  } finally {
    t.cleanup();
  }
});
