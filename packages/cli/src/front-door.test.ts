// The first minutes of a new user: the CLI from another directory and as an installed command,
// and what a pipe or a redirected file receives (sentences; JSON only in the log file or when asked).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, registerSweep, claimTrial, recordProgress } from '@orthoquant/store';
import { trialInput } from '@orthoquant/store/testing';
import { describeRunning } from './progress.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'orthoquant.mjs');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oq-front-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Run a command in the temp folder (not the repository) with stdout and stderr on pipes. */
function inTemp(cmd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ORTHOQUANT_LOG_LEVEL: 'info', ORTHOQUANT_BACKEND: 'wasm', ORTHOQUANT_LOG_FORMAT: '', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const TINY = [
  'name: tiny',
  'method: grid',
  'base:',
  '  task: { name: copy, T: 12, K: 3, trainSize: 64, valSize: 32, testSize: 32 }',
  '  batchSize: 32',
  '  budget: { epochs: 1 }',
  'parameters:',
  '  model: { values: [{ type: hadamrnn, hidden: 8, bits: 4 }] }',
  'seeds: [0]',
  '',
].join('\n');

describe('the CLI from any directory', () => {
  it('scripts/orthoquant.mjs runs from a folder outside the repository and finds the repository tables', () => {
    const h = inTemp(process.execPath, [SCRIPT, '--help']);
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /orthoquant sweep/);
    const l = inTemp(process.execPath, [SCRIPT, 'report', '--list']);
    assert.equal(l.code, 0, l.err);
    assert.match(l.out, /^quickstart$/m);
  });

  it('installed as a command (a symlink on PATH, as `npm link` makes) it runs from anywhere', () => {
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(SCRIPT, join(bin, 'orthoquant'));
    const r = inTemp('orthoquant', ['--help'], { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Train, sweep, record and report/);
    // the workspace package's bin (node_modules/.bin/orthoquant) works from elsewhere too
    const ws = inTemp(process.execPath, [join(ROOT, 'packages', 'cli', 'bin', 'orthoquant.mjs'), '--help']);
    assert.equal(ws.code, 0, ws.err);
  });
});

describe('output on a pipe or in a file', () => {
  it('reads as sentences; the JSON records go to the log file, and to stdout only with --log-format json', () => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    const r = inTemp(process.execPath, [SCRIPT, 'sweep', 'run', 'tiny.yaml', '--db', 'a.db', '--workers', '1']);
    assert.equal(r.code, 0, r.err + r.out);
    const lines = (r.out + r.err).split('\n').filter((l) => l.trim());
    assert.ok(lines.length > 3, r.err);
    for (const l of lines) assert.doesNotMatch(l, /^\s*\{/, `a raw JSON record on the terminal: ${l}`);
    assert.match(r.err, /^\d\d:\d\d:\d\d sweep created: 1 trials, 0 done, 1 to run$/m);
    assert.match(r.err, /^\d\d:\d\d:\d\d sweep 1\/1 trials: 1 done, 0 failed, 0 running \(elapsed \S+, eta \S+\)$/m);
    assert.equal(r.err.match(/sweep 1\/1 trials/g)?.length, 1, 'the end of the sweep is said once');
    assert.match(r.out, /sweep 'tiny': 1\/1 done, 0 failed/);
    // the log file has the records
    const records = readFileSync(join(dir, 'logs', 'tiny.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    assert.ok(records.some((x) => /^sweep created/.test(x.msg)));

    const j = inTemp(process.execPath, [SCRIPT, 'sweep', 'run', 'tiny.yaml', '--db', 'a.db', '--log-format', 'json']);
    assert.equal(j.code, 0, j.err + j.out);
    const json = j.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; level: number });
    assert.ok(json.some((x) => /^sweep resumed: 1 trials, 1 done, 0 to run/.test(x.msg)), j.out);
    assert.doesNotMatch(j.err, /^\{/m, 'JSON goes to stdout, not stderr');
  });
});

describe('where a long trial is', () => {
  it("`sweep status` shows each running trial's step, steps/s and ETA", () => {
    const db = join(dir, 'status.db');
    const s = openStore(db);
    try {
      registerSweep(s, { name: 'long', spec: '', fingerprint: 'f', trials: [trialInput({ i: 1 })] });
      const lease = claimTrial(s, { workerId: 'w1' })!;
      recordProgress(s, lease, { step: 1200, totalSteps: 40000, stepsPerSecond: 12.5 });
    } finally {
      s.close();
    }
    const r = inTemp(process.execPath, [SCRIPT, 'sweep', 'status', 'long', '--db', db]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /trial\s+step\s+steps\/s\s+ETA/);
    assert.match(r.out, /^1\s+1200\/40000\s+12\.5\s+51m44s\s/m);
  });

  it('the progress line in words', () => {
    assert.equal(
      describeRunning([
        { trialId: 3, step: 1200, totalSteps: 40000, stepsPerSecond: 12.5, etaMs: null },
        { trialId: 4, step: null, totalSteps: null, stepsPerSecond: null },
        { trialId: 5, step: 1, totalSteps: 2, stepsPerSecond: 1 },
      ]),
      'trial 3 at step 1200/40000, 13 steps/s, 51m44s left; trial 4 starting; 1 more running',
    );
  });
});

describe('a broken store', () => {
  it('a corrupt store file: one clear error naming it (exit 2, no stack trace), the file left as it was', () => {
    writeFileSync(join(dir, 'tiny.yaml'), TINY);
    const bad = join(dir, 'corrupt.db');
    const garbage = 'SQLite format 3\0' + 'garbage '.repeat(600);
    writeFileSync(bad, garbage);
    for (const args of [['sweep', 'run', 'tiny.yaml'], ['runs', 'list'], ['report']]) {
      const r = inTemp(process.execPath, [SCRIPT, ...args, '--db', bad]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, new RegExp(`orthoquant: store ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a usable SQLite database \\(.*\\): the file is corrupt`));
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace without --verbose');
    }
    assert.equal(readFileSync(bad, 'latin1'), garbage, 'nothing written to the corrupt file');
  });
});
