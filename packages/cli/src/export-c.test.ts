import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileDemo, findCompiler, generateC, quantizeInputs, readIntegerModel, runCompiled, runIntegerCodes, SANITIZE_FLAGS, STRICT_FLAGS, taskBatches } from '@orthoquant/integer';
import { createTask } from '@orthoquant/tasks';
import { cliRunner } from './test-fixtures/run-cli.js';

const cli = cliRunner({ env: { ORTHOQUANT_BACKEND: 'wasm' }, timeout: 300_000 });

const cc = findCompiler();
const skip = cc ? false : process.env.CI ? false : 'no C compiler (cc / $CC) on this machine';
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oq-export-c-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TASK = { name: 'copy', T: 16, K: 3, trainSize: 128, valSize: 32, testSize: 32 } as const;

describe('orthoquant export-c: models trained by a short real run, compiled, bit-exact', { skip }, () => {
  it('every engine kind: export-c RUN_ID, cc strict + sanitizers, every logit equal to the JS engine; eval --engine c', () => {
    const sweep = join(dir, 'deploy.yaml');
    writeFileSync(
      sweep,
      [
        'name: deploy',
        'method: grid',
        'base:',
        `  task: { name: copy, T: ${TASK.T}, K: ${TASK.K}, trainSize: ${TASK.trainSize}, valSize: ${TASK.valSize}, testSize: ${TASK.testSize} }`,
        '  batchSize: 32',
        '  budget: { epochs: 1 }',
        '  mode: ptq',
        '  ptq: { actBits: 12, calibrationBatches: 2 }',
        'parameters:',
        '  model:',
        '    values:',
        '      - { type: hadamrnn, hidden: 16, bits: 4 }',
        '      - { type: hadamrnn, hidden: 16, blockSize: 8, activation: relu, bits: null }',
        '      - { type: qornn, hidden: 16, bits: 4 }',
        '      - { type: lstm, hidden: 8 }',
        'seeds: [0]',
        '',
      ].join('\n'),
    );
    const db = join(dir, 'deploy.db');
    const r = cli(['sweep', 'run', sweep, '--db', db, '--workers', '1']);
    assert.equal(r.code, 0, r.err + r.out);
    const runs = JSON.parse(cli(['runs', 'list', '--db', db, '--json']).out) as { id: number; config: { model: { type: string; blockSize?: number } } }[];
    assert.equal(runs.length, 4);
    const task = createTask({ ...TASK });
    const batch = taskBatches(task, 'test', { batchSize: 8, limit: 8 }).next().value!;
    for (const run of runs) {
      const label = `${run.config.model.type}${run.config.model.blockSize ? ` m=${run.config.model.blockSize}` : ''}`;
      const out = join(dir, `c-${run.id}`);
      const ex = cli(['export-c', String(run.id), '--db', db, '--out', out, '--name', 'net']);
      assert.equal(ex.code, 0, ex.err + ex.out);
      assert.deepEqual(readdirSync(out).sort(), ['demo_main.c', 'net.c', 'net.h']);
      assert.match(ex.out, /^flash {2}\d+ bytes = \d+ const tables \+ \d+ code \(/m, label);
      assert.match(ex.out, /^RAM {4}\d+ bytes \(net_state/m, label);
      const oqint = readFileSync(join(out, 'net.h'), 'utf8').match(/from (run \d+ \((\S+\.oqint)\))/)!;
      const { model } = readIntegerModel(oqint[2]);
      assert.equal(batch.inputKind, 'dense');
      const codes = quantizeInputs(model, batch.inputKind === 'dense' ? batch.inputs : new Float32Array(), batch.T, batch.B);
      const want = runIntegerCodes(model, codes, batch.T, batch.B);
      const gen = generateC(model, { name: 'net', source: oqint[1] });
      assert.equal(gen.files['net.c'], readFileSync(join(out, 'net.c'), 'utf8'), `${label}: export-c wrote generateC's text`);
      for (const flags of [STRICT_FLAGS, SANITIZE_FLAGS]) {
        const compiled = compileDemo(gen, { cc: cc!, flags, dir: join(out, flags === STRICT_FLAGS ? 'strict' : 'sanitize') });
        const got = runCompiled(compiled, model, codes, batch.T, batch.B);
        assert.deepEqual(Array.from(got.logits), Array.from(want.logits), `${label} (${flags.join(' ')}): C vs JS logits`);
      }
      if (run !== runs[0]) continue;
      // The deployed artifact's accuracy, measured: the same numbers as the JS engine.
      const js = JSON.parse(cli(['eval', oqint[2], '--json', '--limit', '16']).out) as { loss: number; accuracy: number };
      const ce = cli(['eval', oqint[2], '--json', '--limit', '16', '--engine', 'c']);
      assert.equal(ce.code, 0, ce.err);
      const c = JSON.parse(ce.out) as { loss: number; accuracy: number; engine: string };
      assert.deepEqual([c.loss, c.accuracy], [js.loss, js.accuracy], label);
      assert.match(c.engine, /^c \(cc /);
    }
  });

  it('bad input: corrupt, unsupported or missing models give a clear error, exit 2, and nothing is written', () => {
    const good = join(dir, 'good.oqint');
    const sweepModel = readdirSync(dir).find((f) => f.startsWith('c-'));
    assert.ok(sweepModel, 'the first test exported models');
    const src = readFileSync(join(dir, sweepModel, 'net.h'), 'utf8').match(/from run \d+ \((\S+\.oqint)\)/)![1];
    const bytes = readFileSync(src);
    writeFileSync(good, bytes);
    const corrupt = Buffer.from(bytes);
    corrupt[corrupt.length - 1] ^= 0xff;
    writeFileSync(join(dir, 'corrupt.oqint'), corrupt);
    const v2 = Buffer.from(bytes);
    v2.writeUInt32LE(2, 8);
    writeFileSync(join(dir, 'v2.oqint'), v2);
    const cases: [string, RegExp][] = [
      ['corrupt.oqint', /corrupt\.oqint: payload checksum mismatch .*the file is corrupt/],
      ['v2.oqint', /v2\.oqint: format version 2 is not supported/],
      ['missing.oqint', /missing\.oqint: cannot read the integer model file \(ENOENT\)/],
    ];
    for (const [file, message] of cases) {
      const out = join(dir, `out-${file}`);
      const r = cli(['export-c', join(dir, file), '--out', out]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, message);
      assert.ok(!existsSync(out), `${file}: nothing written`);
    }
    const badName = cli(['export-c', good, '--out', join(dir, 'out-name'), '--name', 'my-model']);
    assert.equal(badName.code, 2);
    assert.match(badName.err, /--name: expected a C identifier/);
    assert.ok(!existsSync(join(dir, 'out-name')));
    const noRun = cli(['export-c', '999', '--db', join(dir, 'deploy.db'), '--out', join(dir, 'out-run')]);
    assert.equal(noRun.code, 2);
    assert.match(noRun.err, /run '999': no trial with id 999/);
    assert.ok(!existsSync(join(dir, 'out-run')));
  });
});
