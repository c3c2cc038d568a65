// Every `--help` example runs as written (in a fresh folder that has the repository's configs/
// and experiments/): the example trial configs exist, the sweep they lead to is recorded, and
// the commands that read the store (runs, report, quantize, eval) find what they need.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { parseTrialConfig } from '@orthoquant/train';
import { parseYamlWith } from '@orthoquant/runtime';
import { trialConfigSchema } from '@orthoquant/train';
import { readFileSync } from 'node:fs';
import { HELP_EXAMPLES, type ExampleCommand } from './commands/examples.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'orthoquant.mjs');
const ENV = { ...process.env, ORTHOQUANT_LOG_LEVEL: 'warn', ORTHOQUANT_BACKEND: 'wasm', ORTHOQUANT_THREADS: '1', ORTHOQUANT_LOG_FORMAT: '' };

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oq-examples-'));
  symlinkSync(join(ROOT, 'configs'), join(dir, 'configs'));
  symlinkSync(join(ROOT, 'experiments'), join(dir, 'experiments'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const shellCmd = (example: string) => example.replace(/^\$0/, `"${process.execPath}" "${SCRIPT}"`);

function runExample(example: string) {
  const r = spawnSync('bash', ['-c', shellCmd(example)], { cwd: dir, encoding: 'utf8', env: ENV, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function helpOf(command: string): string {
  const r = spawnSync(process.execPath, [SCRIPT, ...command.split(' '), '--help'], { cwd: dir, encoding: 'utf8', env: ENV });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.replace(/\s+/g, ' ');
}

function runAll(command: ExampleCommand, check?: (example: string, r: ReturnType<typeof runExample>) => void) {
  const help = helpOf(command);
  for (const [example] of HELP_EXAMPLES[command]) {
    const head = example.replace('$0', 'orthoquant').split(' ').slice(0, 3).join(' ');
    assert.ok(help.includes(head), `'${command} --help' shows '${head}'`);
    const r = runExample(example);
    assert.equal(r.code, 0, `${example}\n${r.err}\n${r.out}`);
    check?.(example, r);
  }
}

describe('every --help example runs', () => {
  it('configs/trials/*.yaml are valid trial configs', () => {
    const files = readdirSync(join(ROOT, 'configs', 'trials')).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 3, files.join(', '));
    for (const f of files) {
      const p = join(ROOT, 'configs', 'trials', f);
      parseTrialConfig(parseYamlWith(readFileSync(p, 'utf8'), p, trialConfigSchema), p);
    }
  });

  it('train', () => {
    runAll('train', (_e, r) => assert.match(r.out, /summary \(/));
    assert.ok(readdirSync(join(dir, 'runs', 'qornn-copy')).some((f) => f.endsWith('.ckpt')), 'the checkpoint example wrote checkpoints');
  });

  it('sweep run, sweep status', () => {
    runAll('sweep run', (_e, r) => {
      assert.match(r.out, /sweep 'try': 3\/3 done, 0 failed/);
      assert.match(r.out, /\| HadamRNN \(binary W, 4-bit U\/V\) \| \d\.\d{4} ± 0\.0000 \(1\)/);
    });
    runAll('sweep status', (_e, r) => assert.match(r.out, /sweep 'try' .*: 3 trials/));
  });

  it('runs list, report', () => {
    runAll('runs list', (_e, r) => assert.match(r.out, /hadamrnn/));
    runAll('report', (e, r) => {
      if (e === '$0 report') {
        assert.match(r.out, /\| ORNN float \(exp map\) \| (\*\*)?\d\.\d{4}/, 'the table of the one sweep');
        assert.match(r.err, /table 'try' \(the store's sweep 'try'\)/);
      }
    });
    for (const f of ['hadamrnn.tex', 'fig1.svg', 'curves.svg']) assert.ok(existsSync(join(dir, f)), f);
  });

  it('quantize, eval, sweep export-slurm (then `report` lists the tables: two sweeps)', () => {
    runAll('quantize', (_e, r) => assert.match(r.out, /run 3 \(ornn on copy\)/));
    runAll('eval', (_e, r) => assert.match(r.out, /^test\s/m));
    runAll('export-c', (_e, r) => assert.match(r.out, /^flash {2}\d+ bytes/m));
    runAll('sweep export-slurm', () => assert.ok(existsSync(join(dir, 'slurm', 'quickstart', 'sweep.sbatch'))));
    const r = runExample('$0 report');
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /2 sweeps in .* \(try, quickstart\); pick a table with --table NAME/);
    assert.match(r.out, /^quickstart$/m);
  });

  const redis = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';
  it('worker (against a throwaway redis-server on the example URL’s host, a free port)', { skip: !existsSync(redis) && process.env.CI !== 'true' ? `${redis} not found` : false }, async () => {
    const port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    const server = spawn(redis, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      for (const [example] of HELP_EXAMPLES.worker) {
        const cmd = shellCmd(example.replace(':6379', `:${port}`));
        const w = spawn('bash', ['-c', `exec ${cmd}`], { cwd: dir, env: { ...ENV, ORTHOQUANT_LOG_LEVEL: 'info' } });
        let out = '';
        w.stdout.on('data', (d: Buffer) => (out += d));
        w.stderr.on('data', (d: Buffer) => (out += d));
        const exited = new Promise<number | null>((r) => w.on('exit', (c) => r(c)));
        const deadline = Date.now() + 30_000;
        while (!/waiting for trials|ready|listening/i.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        w.kill('SIGTERM');
        assert.equal(await exited, 0, out);
      }
    } finally {
      server.kill('SIGKILL');
    }
  });
});
