// REPRODUCTION.md cannot drift from the committed results/: it must be exactly what
// `orthoquant reproduction` writes from configs/reproduction.yaml and results/. Before the
// first results are committed neither exists, and there is nothing to check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadClaims, renderReproduction } from './index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

test('configs/reproduction.yaml parses; REPRODUCTION.md is what it and results/ imply (orthoquant reproduction --check)', (t) => {
  // the papers' headline claims are there (their wording, rules and extra claims are the file's business)
  const claims = loadClaims(join(ROOT, 'configs', 'reproduction.yaml'));
  const text = claims.claims.map((c) => `${c.id} ${c.sweep}`).join('\n');
  for (const topic of [/copy.*hadamrnn/, /copy-block-hadamrnn/, /copy-qornn/, /pmnist-hadamrnn/, /smnist-hadamrnn/, /copy-hadamrnn-integer-8/, /copy-hadamrnn-integer-12/, /pmnist-hadamrnn-integer-8/, /pmnist-hadamrnn-integer-12/]) {
    assert.match(text, topic, `a claim matching ${topic} in configs/reproduction.yaml`);
  }
  const doc = join(ROOT, 'REPRODUCTION.md');
  const results = join(ROOT, 'results');
  if (!existsSync(doc)) {
    assert.ok(!existsSync(results), 'results/ is committed but REPRODUCTION.md is not: write it with `npm run orthoquant -- reproduction`');
    t.skip('no REPRODUCTION.md and no results/ yet');
    return;
  }
  assert.ok(existsSync(results), 'REPRODUCTION.md is committed without the results/ it is generated from');
  const expected = renderReproduction(claims, results, { claimsFile: 'configs/reproduction.yaml', resultsDir: 'results' });
  assert.ok(readFileSync(doc, 'utf8') === expected, 'REPRODUCTION.md differs from what configs/reproduction.yaml and results/ imply: run `npm run orthoquant -- reproduction` and commit it');
});
