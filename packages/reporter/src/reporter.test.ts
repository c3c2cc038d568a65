import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTableSpec, buildTable, renderTable, parsePublished, matches } from './index.js';
import { fixtureTrials, FIXTURE_SPEC } from './testing.js';

describe('table specs', () => {
  it('expands `for:` rows and keeps the order', () => {
    const t = buildTable(parseTableSpec(FIXTURE_SPEC), fixtureTrials());
    assert.deepEqual(t.rows, ['HadamRNN', 'QORNN 4-bit', 'QORNN 8-bit', 'QORNN 3-bit']);
  });

  it('errors name the file, line, column and key path', () => {
    const bad = FIXTURE_SPEC.replace('stat: best', 'stat: worst');
    assert.throws(() => parseTableSpec(bad, 'configs/tables/x.yaml'), (e: Error) => {
      assert.equal(e.name, 'InputError');
      assert.match(e.message, /^configs\/tables\/x\.yaml:\d+:\d+: columns\.1\.stat: /);
      const line = Number(/x\.yaml:(\d+):/.exec(e.message)![1]);
      assert.equal(bad.split('\n')[line - 1].trim(), 'stat: worst');
      return true;
    });
    assert.throws(() => parseTableSpec('name: x\ntitle: [unclosed', 't.yaml'), /t\.yaml:\d+:\d+: invalid YAML/);
    assert.throws(() => parseTableSpec('name: x\ntitle: y\nrows: []\ncolumns: []\n', 't.yaml'), /rows: /);
    assert.throws(() => parseTableSpec(FIXTURE_SPEC.replace('title:', 'titel:'), 't.yaml'), /Unrecognized key.*titel|title/);
  });
});

describe('building a table', () => {
  const spec = parseTableSpec(FIXTURE_SPEC);

  it('aggregates done trials over seeds: mean, sample std, n; ignores failed trials', () => {
    const t = buildTable(spec, fixtureTrials());
    const q4 = t.cells[1][0];
    assert.equal(q4.n, 3);
    assert.ok(Math.abs(q4.mean! - 0.92) < 1e-12);
    assert.ok(Math.abs(q4.std! - 0.02) < 1e-12);
    assert.equal(t.cells[2][0].n, 2);
    assert.equal(t.cells[3][0].n, 0);
    assert.equal(t.cells[3][0].mean, null);
    assert.ok(Math.abs(t.cells[0][1].mean! - (1 - 0.96)) < 1e-12, 'stat: best reads the best value');
  });

  it('marks the best cell of a column and renders "—" for empty cells', () => {
    const md = renderTable(buildTable(spec, fixtureTrials()), 'md');
    assert.match(md, /\| QORNN 8-bit \| \*\*97\.5 ± 0\.7 \(2\)\*\* \|/);
    assert.match(md, /\| QORNN 3-bit \| — \| — \|/);
    assert.doesNotMatch(md, /published/);
  });

  it('shows published values and the difference only where both exist', () => {
    const pub = parsePublished('table: fixture\nsource: Paper, Table 1\nvalues:\n  QORNN 4-bit:\n    sMNIST acc: 0.9\n  QORNN 3-bit:\n    sMNIST acc: 0.5\n', 'p.yaml');
    const t = buildTable(spec, fixtureTrials(), pub);
    assert.ok(t.hasPublished);
    assert.ok(Math.abs(t.cells[1][0].delta! - 0.02) < 1e-12);
    assert.equal(t.cells[3][0].delta, null, 'no run, no difference');
    assert.equal(t.cells[0][0].published, null);
    const md = renderTable(t, 'md');
    assert.match(md, /\| QORNN 4-bit \| 92\.0 ± 2\.0 \(3\) \| 90\.0 \| \+2\.0 \|/);
    assert.match(md, /\| QORNN 3-bit \| — \| 50\.0 \| — \|/);
    assert.match(md, /Published: Paper, Table 1/);
  });

  it('an empty published file publishes nothing', () => {
    const pub = parsePublished('table: fixture\nvalues:\n', 'p.yaml');
    assert.equal(pub.count, 0);
    assert.equal(buildTable(spec, fixtureTrials(), pub).hasPublished, false);
  });

  it('CSV has one line per row with mean/std/median/n per column', () => {
    const csv = renderTable(buildTable(spec, fixtureTrials()), 'csv').trim().split('\n');
    assert.equal(csv.length, 5);
    assert.equal(csv[0], 'row,sMNIST acc mean,sMNIST acc std,sMNIST acc median,sMNIST acc n,sMNIST loss mean,sMNIST loss std,sMNIST loss median,sMNIST loss n');
    const q4 = csv[2].split(',');
    assert.equal(q4[0], 'QORNN 4-bit');
    assert.ok(Math.abs(Number(q4[1]) - 0.92) < 1e-12);
    assert.equal(q4[4], '3');
    assert.equal(csv[4], 'QORNN 3-bit,,,,0,,,,0');
  });

  it('LaTeX uses booktabs, escapes specials and bolds the best', () => {
    const s = parseTableSpec(FIXTURE_SPEC.replace('label: HadamRNN', 'label: "Hadam_RNN & 50%"'));
    const tex = renderTable(buildTable(s, fixtureTrials()), 'latex');
    assert.match(tex, /\\toprule[\s\S]*\\midrule[\s\S]*\\bottomrule/);
    assert.match(tex, /Hadam\\_RNN \\& 50\\%/);
    assert.match(tex, /\\textbf\{97\.5 \$\\pm\$ 0\.7 \(2\)\}/);
    assert.match(tex, /QORNN 3-bit & --- & --- \\\\/);
  });

  it('matches lists of values and null as "absent"', () => {
    assert.ok(matches({ model: { bits: 4 } }, { 'model.bits': [3, 4] }));
    assert.ok(!matches({ model: { bits: 5 } }, { 'model.bits': [3, 4] }));
    assert.ok(matches({ model: {} }, { 'model.bits': null }));
    assert.ok(!matches({ model: { bits: 4 } }, { 'model.bits': null }));
  });
});
