import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliRunner } from './test-fixtures/run-cli.js';

/** Run the CLI as a user would (from the repository root), return code and output. */
const cli = cliRunner({ env: { ORTHOQUANT_BACKEND: 'wasm' }, timeout: 300_000 });

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oq-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('orthoquant CLI: usage and bad input', () => {
  it('--help lists every command and exits 0', () => {
    const r = cli(['--help']);
    assert.equal(r.code, 0, r.err);
    for (const c of ['train', 'sweep', 'worker', 'runs', 'report', 'export', 'quantize', 'eval', 'dashboard']) assert.match(r.out, new RegExp(`orthoquant ${c}`));
  });

  it('sweep --help lists the local, queue and Slurm routes; worker refuses a bad queue URL (exit 2)', () => {
    const r = cli(['sweep', '--help']);
    assert.equal(r.code, 0, r.err);
    for (const c of ['run <file>', 'resume <name>', 'status', 'export-slurm <file>', 'run-task <dir>', 'ingest <dir>']) assert.ok(r.out.includes(`orthoquant sweep ${c}`), c);
    const w = cli(['worker', '--queue', 'http://127.0.0.1:6379']);
    assert.equal(w.code, 2, w.err);
    assert.match(w.err, /--queue: expected a redis:\/\/ URL, got protocol 'http:'/);
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

  it('sweep run --only: a bad filter is exit 2 before anything is recorded; one matching no trial is named', () => {
    const file = join(dir, 'only.yaml');
    writeFileSync(file, 'name: only\nbase:\n  task: { name: copy, T: 24, K: 4 }\nparameters:\n  model: { values: [{ type: hadamrnn, hidden: 16 }] }\nseeds: [0, 1]\n');
    const db = join(dir, 'only.db');
    const bad = cli(['sweep', 'run', file, '--db', db, '--only', 'seed ~ 1']);
    assert.equal(bad.code, 2, bad.err);
    assert.match(bad.err, /--only: unexpected character '~' at column 6/);
    const none = cli(['sweep', 'run', file, '--db', db, '--only', 'seed = 2 and params.model.type = hadamrnn']);
    assert.equal(none.code, 2, none.err);
    assert.match(none.err, /--only 'seed = 2 and params.model.type = hadamrnn': matches none of the 2 trials of sweep 'only'/);
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

    // the evidence folder: summaries, curves, the table, plots; integer-only rows next to float
    const results = join(dir, 'results');
    const rx = cli(['results', 'export', '--db', db, '--sweep', 'tiny', '--out', results, '--table', table]);
    assert.equal(rx.code, 0, rx.err);
    assert.match(rx.out, /tiny: 2 trials \(2 done\)/);
    for (const f of ['README.md', 'index.json', 'tiny/summary.json', 'tiny/summary.csv', 'tiny/curves.csv', 'tiny/tables/tiny-table.md', 'tiny/train-loss.svg']) assert.ok(existsSync(join(results, f)), f);
    assert.match(readFileSync(join(results, 'tiny', 'train-loss.svg'), 'utf8'), /class="axis y-axis" data-scale="log"/);
    const ri = cli(['results', 'integer', '--db', db, '--sweep', 'tiny', '--act-bits', '12', '--limit', '16', '--filter', 'params.model.type = hadamrnn', '--out', results]);
    assert.equal(ri.code, 0, ri.err);
    const irows = (JSON.parse(readFileSync(join(results, 'tiny-integer', 'summary.json'), 'utf8')) as { trials: { config: { integer: { actBits: number } }; metrics: Record<string, number> }[] }).trials;
    assert.deepEqual(irows.map((r) => r.config.integer.actBits), [12]);
    assert.ok(Number.isFinite(irows[0].metrics.int_test_loss) && Number.isFinite(irows[0].metrics.float_ref_test_loss));
    const noSweep = cli(['results', 'export', '--db', db, '--sweep', 'nope', '--out', results]);
    assert.equal(noSweep.code, 2, noSweep.err);
    assert.match(noSweep.err, /--sweep: unknown sweep 'nope'/);

    const tex = cli(['report', '--db', db, '--table', table, '--format', 'latex']);
    assert.equal(tex.code, 0, tex.err);
    assert.match(tex.out, /\\toprule/);

    const show = cli(['runs', 'show', String(rows.length), '--db', db]);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /provenance: orthoquant/);

    // Integer-only PTQ of a recorded run, then the model file evaluated on its own.
    const hadam = JSON.parse(cli(['runs', 'list', '--db', db, '--filter', 'params.model.type = hadamrnn', '--json']).out) as { id: number; summary: Record<string, { final: number }> }[];
    const id = String(hadam[0].id);
    const oqint = join(dir, 'hadam.oqint');
    const q = cli(['quantize', id, '--act-bits', '12', '--db', db, '--out', oqint]);
    assert.equal(q.code, 0, q.err + q.out);
    assert.ok(existsSync(oqint));
    assert.match(q.out, new RegExp(`run ${id} \\(hadamrnn on copy\\), checkpoint step 8: 12-bit activations`));
    const rowOf = (out: string, label: string) => {
      const m = new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s+(\\S+)\\s+(\\S+)\\s+(\\d+)\\s+(\\d+)`, 'm').exec(out);
      assert.ok(m, `no '${label}' row in:\n${out}`);
      return { loss: Number(m[1]), accuracy: Number(m[2]), sequences: Number(m[3]), perSecond: Number(m[4]) };
    };
    const fl = rowOf(q.out, 'float (reference)');
    const int = rowOf(q.out, 'integer (a12)');
    assert.equal(int.sequences, 64);
    assert.ok(int.perSecond > 0 && fl.perSecond > 0);
    // the float reference is the recorded model (tfjs's test loss), 12-bit integers stay close to it
    assert.ok(Math.abs(fl.loss - hadam[0].summary.test_loss.final) < 2e-4, `${fl.loss} vs ${hadam[0].summary.test_loss.final}`);
    assert.ok(Math.abs(int.loss - fl.loss) <= 0.01 * fl.loss + 1e-3, q.out);

    const ev = cli(['eval', oqint, '--task', 'copy', '--json']);
    assert.equal(ev.code, 0, ev.err);
    const e = JSON.parse(ev.out) as { loss: number; sequences: number; split: string; actBits: number };
    assert.deepEqual([e.split, e.sequences, e.actBits], ['test', 64, 12]);
    assert.ok(Math.abs(e.loss - int.loss) < 1e-4, 'eval of the file reproduces the integer loss of quantize');
    const evLimited = cli(['eval', oqint, '--task-config', '{ name: copy, T: 24, K: 4, testSize: 64 }', '--split', 'test', '--limit', '10']);
    assert.equal(evLimited.code, 0, evLimited.err);
    assert.match(evLimited.out, /^test\s+\S+\s+\S+\s+\S+\s+10\s/m);

    // bad input: exit 2 with the culprit named
    const unknown = cli(['quantize', '999', '--act-bits', '12', '--db', db]);
    assert.equal(unknown.code, 2, unknown.err);
    assert.match(unknown.err, /run '999': no trial with id 999/);
    const badBits = cli(['quantize', id, '--act-bits', '1', '--db', db]);
    assert.equal(badBits.code, 2);
    assert.match(badBits.err, /--act-bits: expected an integer in 6\.\.16, got 1/);
    const badStat = cli(['quantize', id, '--act-bits', '8', '--statistic', 'p200', '--db', db]);
    assert.equal(badStat.code, 2);
    assert.match(badStat.err, /--statistic: expected 'max', 'p<percentile>'/);
    const notModel = cli(['eval', sweep]);
    assert.equal(notModel.code, 2);
    assert.match(notModel.err, /tiny\.yaml: not an integer model file/);
    const otherTask = cli(['eval', oqint, '--task', 'smnist']);
    assert.equal(otherTask.code, 2);
    assert.match(otherTask.err, /--task: the model was calibrated for task 'copy'; .*pass --task-config/);
    const badTask = cli(['eval', oqint, '--task-config', '{ name: copy, T: 0 }']);
    assert.equal(badTask.code, 2, badTask.err + badTask.out);
    assert.match(badTask.err, /--task-config\.T: /);
    // no checkpoint file left: a clear error, exit 2
    const detail = JSON.parse(cli(['runs', 'show', id, '--db', db, '--json']).out) as { artifacts: { kind: string; path: string }[] };
    for (const a of detail.artifacts) if (a.kind === 'checkpoint' && existsSync(a.path)) unlinkSync(a.path);
    const gone = cli(['quantize', id, '--act-bits', '12', '--db', db]);
    assert.equal(gone.code, 2, gone.err);
    assert.match(gone.err, new RegExp(`run ${id}: none of its \\d+ checkpoint file\\(s\\) exists any more`));
  });
});
