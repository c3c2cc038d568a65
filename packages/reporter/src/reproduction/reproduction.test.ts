import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRule, evaluateRule, parseClaims, assessClaim, renderReproduction, RESULTS_FORMAT, type ResultRow, type Claim } from '../index.js';

test('rules: arithmetic over metrics, precedence, and; a missing metric leaves the rule undecided', () => {
  const r = parseRule('test_loss < memoryless_loss / 100 and acc >= 1 - 0.05 * (2 + -1)');
  assert.deepEqual(r.keys.sort(), ['acc', 'memoryless_loss', 'test_loss']);
  assert.equal(evaluateRule(r, { test_loss: 1e-4, memoryless_loss: 0.0208, acc: 0.95 }), true);
  assert.equal(evaluateRule(r, { test_loss: 1e-3, memoryless_loss: 0.0208, acc: 0.99 }), false);
  assert.equal(evaluateRule(r, { test_loss: 1e-4, memoryless_loss: 0.0208, acc: 0.94 }), false);
  assert.equal(evaluateRule(r, { test_loss: 1e-4, acc: 0.99 }), null);
  assert.equal(evaluateRule(parseRule('a <= 2e-5'), { a: 2e-5 }), true);
  assert.throws(() => parseRule('test_loss << 1'), /expected a number or a metric key at column 12 \('<'\) of 'test_loss << 1'/);
  assert.throws(() => parseRule('test_loss'), /expected a comparison \(<, <=, >, >=\) at the end of 'test_loss'/);
  assert.throws(() => parseRule('a < 1 or b > 2'), /expected 'and' or the end of the rule at column 7 \('or'\)/);
  assert.throws(() => parseRule('a < 1 % 2'), /unexpected character '%' at column 7/);
});

function row(over: Partial<ResultRow> & { metrics: Record<string, number> }): ResultRow {
  return {
    sweep: 's',
    trial: 1,
    hash: 'ab'.repeat(32),
    status: 'done',
    label: 'hadamrnn n=128 4-bit',
    seed: 0,
    config: { seed: 0, model: { type: 'hadamrnn' } },
    budget: { steps: 40000, totalSteps: 40000, stepsPerEpoch: 4000, evalStep: 40000, evalEpochs: 10, totalEpochs: 10, complete: true },
    metricsSource: 'summary',
    wallSeconds: 4500,
    wallSource: 'trainer',
    provenance: { host: 'vm', gitCommit: 'f'.repeat(40), gitDirty: false, nodeVersion: 'v20.20.2', backend: null, kernel: null },
    error: null,
    ...over,
  };
}

const CLAIMS = `
title: Reproduction
claims:
  - id: copy
    paper: HadamRNN
    claim: Binary recurrent weights solve the copy task
    command: npm run orthoquant -- sweep run experiments/repro/copy-t1000-hadamrnn.yaml --only 'seed = 0'
    sweep: s
    where: { model.type: hadamrnn }
    metric: test_loss
    rule: test_loss < memoryless_loss / 100
  - id: nothing-yet
    paper: QORNN
    claim: Something not run
    command: [a, b]
    sweep: absent
    metric: test_accuracy
    rule: test_accuracy > 0.9
    reason: not run on this machine yet
`;

test('verdicts: reproduced when the rule holds for every trial; differs only at the full budget; otherwise not yet, saying why', () => {
  const claim = parseClaims(CLAIMS).claims[0] as Claim;
  const solved = { test_loss: 1e-7, memoryless_loss: 0.0208 };
  assert.equal(assessClaim(claim, null).verdict, 'not yet');
  assert.match(assessClaim(claim, null).status!, /no results yet \(results\/s\/summary\.json\)/);
  assert.match(assessClaim(claim, [row({ config: { model: { type: 'lstm' } }, metrics: solved })]).status!, /no trial of results\/s matches/);
  assert.equal(assessClaim(claim, [row({ metrics: solved }), row({ trial: 2, seed: 1, metrics: solved })]).verdict, 'reproduced');
  const failsAtEnd = assessClaim(claim, [row({ metrics: solved }), row({ trial: 2, seed: 1, metrics: { test_loss: 5.7e-4, memoryless_loss: 0.0208 } })]);
  assert.deepEqual([failsAtEnd.verdict, failsAtEnd.status], ['differs', 'the rule fails for 1 of 2 trials at the full budget']);
  const unfinished = row({ trial: 2, seed: 1, status: 'running', metricsSource: 'latest evaluation', budget: { ...row({ metrics: {} }).budget, evalEpochs: 3, complete: false }, metrics: { test_loss: 5.7e-4, memoryless_loss: 0.0208 } });
  const notYet = assessClaim(claim, [row({ metrics: solved }), unfinished]);
  assert.deepEqual([notYet.verdict, notYet.status], ['not yet', '1 of 2 trials unfinished (running); the rule fails so far for 1']);
  const pending = row({ trial: 3, status: 'pending', metricsSource: 'none', budget: { ...unfinished.budget, evalStep: null, evalEpochs: null }, metrics: { memoryless_loss: 0.0208 } });
  assert.equal(assessClaim(claim, [row({ metrics: solved }), pending]).verdict, 'not yet');
  const early = assessClaim(claim, [row({ ...unfinished, metrics: solved })]);
  assert.deepEqual([early.verdict, early.status], ['reproduced', 'reached before the end of the budget (1 of 1 trials unfinished)']);
});

test('claims file errors name the file, line and key; duplicate ids and bad rules are refused', () => {
  assert.throws(() => parseClaims('claims:\n  - id: x\n    paper: p\n', 'r.yaml'), /r\.yaml:2:\d+: claims\.0\.claim: /);
  assert.throws(() => parseClaims(CLAIMS.replace('id: nothing-yet', 'id: copy'), 'r.yaml'), /claims\.1\.id: 'copy' is used twice/);
  assert.throws(() => parseClaims(CLAIMS.replace('rule: test_accuracy > 0.9', 'rule: test_accuracy ~ 0.9'), 'r.yaml'), /r\.yaml: claims\.1\.rule: unexpected character '~'/);
});

test('REPRODUCTION.md: one row per claim with measured numbers, budget, seeds, machine, time, "—" for missing published values; a pure function of its inputs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oq-repro-'));
  try {
    mkdirSync(join(dir, 's'));
    const trials = [row({ metrics: { test_loss: 1.2e-7, memoryless_loss: 0.0208 } }), row({ trial: 2, seed: 1, status: 'running', metricsSource: 'latest evaluation', wallSeconds: 1800, budget: { steps: 13000, totalSteps: 40000, stepsPerEpoch: 4000, evalStep: 12000, evalEpochs: 3, totalEpochs: 10, complete: false }, metrics: { test_loss: 3.1e-3, memoryless_loss: 0.0208 } })];
    writeFileSync(join(dir, 's', 'summary.json'), JSON.stringify({ format: RESULTS_FORMAT, sweep: 's', trials }));
    const claims = parseClaims(CLAIMS);
    const text = renderReproduction(claims, dir, { claimsFile: 'configs/reproduction.yaml', resultsDir: 'results' });
    assert.equal(text, renderReproduction(claims, dir, { claimsFile: 'configs/reproduction.yaml', resultsDir: 'results' }));
    const lines = text.split('\n');
    const head = lines.findIndex((l) => l.startsWith('| # | claim |'));
    const table = lines.slice(head + 2, lines.indexOf('', head));
    assert.equal(table.length, 2);
    assert.equal(
      table[0],
      "| 1 | Binary recurrent weights solve the copy task | HadamRNN | `npm run orthoquant -- sweep run experiments/repro/copy-t1000-hadamrnn.yaml --only 'seed = 0'` | test_loss 1.20e-7 · 0.0031 | 10 of 10 epochs (step 40,000 of 40,000) · 3 of 10 epochs (step 12,000 of 40,000) | 0, 1 | vm (Node v20.20.2, commit fffffff) | 1.25 h · 30 min | — | not yet |",
    );
    assert.equal(table[1], '| 2 | Something not run | QORNN | `a` (+1, see below) | — | — | — | — | — | — | not yet |');
    assert.match(text, /## 1\. copy: not yet\n/);
    assert.match(text, /\| 2 \| 1 \| running \| 3 of 10 epochs \(step 12,000 of 40,000\) \| 0\.0031 \| 0\.0208 \| fails \|/);
    assert.match(text, /Status: 1 of 2 trials unfinished \(running\); the rule fails so far for 1\./);
    assert.match(text, /Status: no results yet \(results\/absent\/summary\.json\)\.\n\nWhy: not run on this machine yet/);
    assert.match(text, /```bash\na\nb\n```/);
    assert.ok(!/\d{4}-\d\d-\d\d/.test(text), 'no dates: the text depends on the results alone');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
