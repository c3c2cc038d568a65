// `orthoquant report` over a fixture store (no training): figures and tables, and their errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { smallFixture, type FixtureDb } from '@orthoquant/dashboard/testing';
import { cliRunner } from './test-fixtures/run-cli.js';

const cli = cliRunner({ timeout: 120_000 });

let fx: FixtureDb;
before(() => {
  fx = smallFixture();
});
after(() => fx.cleanup());

describe('orthoquant report --plot', () => {
  it('size-accuracy: one point per configuration (seeds averaged) as SVG', () => {
    const r = cli(['report', '--db', fx.path, '--plot', 'size-accuracy', '--filter', "params.task.name = 'smnist'"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^<svg[\s\S]*<\/svg>\s*$/);
    for (const family of ['hadamrnn', 'qornn', 'lstm']) assert.match(r.out, new RegExp(family));
  });

  it('curves: seed bands of the chosen runs with a baseline line; a loss on a log axis unless --no-log-y', () => {
    const r = cli(['report', '--db', fx.path, '--plot', 'curves', '--runs', '1,2,3', '--metric', 'loss', '--baseline', '0.5']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^<svg/);
    assert.match(r.out, /baseline/);
    assert.match(r.out, /class="axis y-axis" data-scale="log"/);
    const lin = cli(['report', '--db', fx.path, '--plot', 'curves', '--runs', '1,2,3', '--metric', 'loss', '--no-log-y']);
    assert.equal(lin.code, 0, lin.err);
    assert.doesNotMatch(lin.out, /data-scale="log"/);
  });

  it('bad figure requests are usage or input errors (exit 2)', () => {
    assert.equal(cli(['report', '--db', fx.path, '--plot', 'pie']).code, 2);
    const runs = cli(['report', '--db', fx.path, '--plot', 'curves', '--runs', '1,x']);
    assert.equal(runs.code, 2);
    assert.match(runs.err, /--runs: expected trial ids separated by commas, got 'x'/);
    const both = cli(['report', '--db', fx.path, '--plot', 'curves', '--table', 'quickstart']);
    assert.equal(both.code, 2);
    assert.match(both.err, /--table and --plot go separately/);
    const unknown = cli(['report', '--db', fx.path, '--table', 'no-such-table']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no table 'no-such-table' in .*configs\/tables \(known: .*quickstart/);
  });

  it('a paper table over the fixture: trials of other tasks do not leak in', () => {
    const r = cli(['report', '--db', fx.path, '--table', 'hadamrnn']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /### HadamRNN \/ Block-HadamRNN/);
    assert.match(r.out, /\| HadamRNN \(binary W\) \| — \| — \| 95\.00 ± 0\.50 \(3\) \| — \| — \|/);
  });
});
