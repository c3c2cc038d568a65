import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Run the CLI as a user would (from the repository root), return code and output. */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ORTHOQUANT_LOG_LEVEL: 'warn', ORTHOQUANT_BACKEND: 'wasm', ...env },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oq-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('orthoquant CLI: usage and bad input', () => {
  it('--help lists every command and exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.code, 0, r.err);
    for (const c of ['train', 'sweep', 'runs', 'report', 'export', 'dashboard']) assert.match(r.out, new RegExp(`orthoquant ${c}`));
  });

  it('an unknown command or flag is a usage error (exit 2)', () => {
    const r = cli(['sweeps']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown argument: sweeps|Did you mean sweep/);
    const f = cli(['runs', 'list', '--limt', '3']);
    assert.equal(f.code, 2);
    assert.match(f.err, /Unknown arguments?: limt/);
    assert.equal(f.out, '', 'the command must not run after a usage error');
  });

  it('a missing store is named, not silently created (exit 2)', () => {
    const db = join(dir, 'nothing.db');
    const r = cli(['runs', 'list', '--db', db]);
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`no experiment store at '${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}'`));
  });

  it('a bad sweep file is an error naming file, line, column and key; nothing is recorded', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'name: bad\nmethod: grid\nparameters:\n  model.type: { values: [hadamrnn] }\n  model.bits: { valuez: [2] }\n');
    const db = join(dir, 'bad.db');
    const r = cli(['sweep', 'run', file, '--db', db]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /bad\.yaml:5:\d+: .*parameters\.model\.bits/);
  });

  it('a bad trial config for `train` names the key path', () => {
    const file = join(dir, 'trial.yaml');
    writeFileSync(file, 'seed: 1\ntask: { name: copy, T: 30, K: 5 }\nmodel: { type: hadamrnn, hidden: 16, bits: 0 }\n');
    const r = cli(['train', file]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /trial\.yaml:3:\d+: model\.bits: expected an integer in 1\.\.16, got 0/);
  });
});

describe('orthoquant CLI: a real sweep end to end', () => {
  it('runs, records, lists, reports and exports two trials with the real trainer', () => {
    const sweep = join(dir, 'tiny.yaml');
    writeFileSync(
      sweep,
      [
        'name: tiny',
        'method: grid',
        'base:',
        '  task: { name: copy, T: 24, K: 4, trainSize: 256, valSize: 64, testSize: 64 }',
        '  batchSize: 32',
        '  budget: { epochs: 1 }',
        'parameters:',
        '  model:',
        '    values:',
        '      - { type: hadamrnn, hidden: 16, bits: 4 }',
        '      - { type: qornn, hidden: 16, bits: 4 }',
        'seeds: [0]',
        '',
      ].join('\n'),
    );
    const table = join(dir, 'tiny-table.yaml');
    writeFileSync(
      table,
      [
        'name: tiny',
        'title: Tiny',
        'rows:',
        '  - { label: HadamRNN, where: { model.type: hadamrnn } }',
        '  - { label: QORNN, where: { model.type: qornn } }',
        '  - { label: LSTM, where: { model.type: lstm } }',
        'columns:',
        '  - { label: test loss, where: { task.name: copy }, metric: test_loss, format: { digits: 3 } }',
        '',
      ].join('\n'),
    );
    const db = join(dir, 'tiny.db');
    const r = cli(['sweep', 'run', sweep, '--db', db, '--workers', '2', '--report', table]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /sweep 'tiny': 2\/2 done, 0 failed/);
    // The table: both trained rows have a number (n = 1), the LSTM row has none.
    assert.match(r.out, /\| HadamRNN \| \d\.\d{3} ± 0\.000 \(1\) \|/);
    assert.match(r.out, /\| QORNN \| \d\.\d{3} ± 0\.000 \(1\) \|/);
    assert.match(r.out, /\| LSTM \| — \|/);

    const again = cli(['sweep', 'run', sweep, '--db', db]);
    assert.equal(again.code, 0, again.err);
    assert.match(again.out, /0 run now, 2 already done/);

    const list = cli(['runs', 'list', '--db', db, '--filter', 'params.model.type = hadamrnn', '--json']);
    assert.equal(list.code, 0, list.err);
    const rows = JSON.parse(list.out) as { config: { model: { type: string } }; summary: Record<string, { final: number }> }[];
    assert.equal(rows.length, 1);
    assert.equal(rows[0].config.model.type, 'hadamrnn');
    assert.ok(Number.isFinite(rows[0].summary.test_loss.final));

    const badFilter = cli(['runs', 'list', '--db', db, '--filter', 'params.model.type ~ x']);
    assert.equal(badFilter.code, 2, badFilter.err);

    const csvFile = join(dir, 'out.csv');
    const ex = cli(['export', '--db', db, '--out', csvFile]);
    assert.equal(ex.code, 0, ex.err);
    const csv = readFileSync(csvFile, 'utf8').trim().split('\n');
    assert.equal(csv.length, 3);
    assert.match(csv[0], /params\.model\.type/);
    assert.match(csv[0], /final\.test_loss/);

    const tex = cli(['report', '--db', db, '--table', table, '--format', 'latex']);
    assert.equal(tex.code, 0, tex.err);
    assert.match(tex.out, /\\toprule/);

    const show = cli(['runs', 'show', String(rows.length), '--db', db]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /provenance: orthoquant/);
  });
});
