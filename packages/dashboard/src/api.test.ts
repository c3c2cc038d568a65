import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configLabel, parseIds, seedlessKey, tailFile, MAX_CURVE_TRIALS } from './api.js';

describe('api helpers', () => {
  it('tailFile: the end of a long log from a line boundary; a missing file says so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orthoquant-tail-'));
    try {
      const file = join(dir, 'trial.log');
      writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
      const t = tailFile(file, 100)!;
      assert.equal(t.truncated, true);
      assert.match(t.text, /^line \d+\n/);
      assert.match(t.text, /line 999\n$/);
      assert.ok(t.text.length <= 100);
      assert.deepEqual(tailFile(file, 1e6)!.text.split('\n').length, 1001);
      assert.deepEqual(tailFile(join(dir, 'gone.log'), 100), { path: join(dir, 'gone.log'), text: '', truncated: false, missing: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seed bands group configs that differ only by seed, at any depth', () => {
    assert.equal(seedlessKey({ b: 1, a: { seed: 3, x: 2 }, seed: 1 }), seedlessKey({ a: { x: 2 }, seed: 2, b: 1 }));
    assert.notEqual(seedlessKey({ a: 1, seed: 1 }), seedlessKey({ a: 2, seed: 1 }));
    assert.equal(configLabel({ model: { type: 'qornn', bits: 4, hidden: 128 }, task: { name: 'copy' } }), 'qornn 4-bit n=128 copy');
    assert.equal(configLabel({ model: { type: 'lstm', bits: null } }), 'lstm fp');
    assert.equal(configLabel({}), 'config');
  });

  it('parseIds: digits only, deduplicated, bounded', () => {
    assert.deepEqual(parseIds('3, 1,3'), [3, 1]);
    assert.throws(() => parseIds(''), /ids: expected a comma-separated list of trial ids, got nothing/);
    assert.throws(() => parseIds('1;DROP'), /ids: expected trial ids \(digits\), got '1;DROP'/);
    const many = Array.from({ length: MAX_CURVE_TRIALS + 1 }, (_, i) => i + 1).join(',');
    assert.throws(() => parseIds(many), new RegExp(`ids: at most ${MAX_CURVE_TRIALS} trials at once, got ${MAX_CURVE_TRIALS + 1}`));
  });
});
