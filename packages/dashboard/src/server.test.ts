import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startDashboard, type Dashboard } from './index.js';
import { largeFixture, smallFixture, FIXTURE_SEEDS, FIXTURE_STEPS, type FixtureDb } from './testing.js';
import { dropTable } from '@orthoquant/store/testing';

async function get(d: Dashboard, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string; json: () => any }> {
  const res = await fetch(new URL(path, d.url), { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) };
}

describe('dashboard API on the small fixture', () => {
  let fx: FixtureDb;
  let d: Dashboard;
  before(async () => {
    fx = smallFixture();
    d = await startDashboard({ dbPath: fx.path, port: 0, host: '127.0.0.1', tablesDir: fx.tablesDir });
  });
  after(async () => {
    await d?.close();
    fx?.cleanup();
  });

  it('binds 127.0.0.1 on an ephemeral port and serves the page and uPlot', async () => {
    assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.notEqual(d.port, 0);
    const page = await get(d, '/');
    assert.equal(page.status, 200);
    assert.match(page.text, /<script type="module" src="\/app\.js">/);
    const app = await get(d, '/app.js');
    assert.match(app.type, /javascript/);
    assert.match(app.text, /from '\/vendor\/uPlot\.esm\.js'/);
    const up = await get(d, '/vendor/uPlot.esm.js');
    assert.equal(up.status, 200);
    assert.match(up.text, /export \{ uPlot as default \}|export default/);
    assert.equal((await get(d, '/vendor/uPlot.min.css')).status, 200);
  });

  it('overview: totals, per-sweep progress and the running trial with its heartbeat', async () => {
    const o = (await get(d, '/api/overview')).json();
    assert.deepEqual(o.totals, { total: 15, pending: 1, running: 1, done: 12, failed: 1 });
    assert.equal(o.sweeps.length, 1);
    const s = o.sweeps[0];
    assert.equal(s.name, 'fixture-sweep');
    assert.equal(s.progress, 13 / 15);
    assert.equal(s.running_trials.length, 1);
    assert.equal(s.running_trials[0].trialId, 14);
    assert.ok(Date.now() - s.running_trials[0].heartbeatAt < 60_000);
  });

  it('runs: a page from the summary table, filtered with the CLI grammar, sorted', async () => {
    const all = (await get(d, '/api/runs')).json();
    assert.equal(all.total, 15);
    assert.equal(all.rows.length, 15);
    assert.ok(all.metricKeys.includes('test_accuracy') && all.metricKeys.includes('size_bytes'));
    const q = (await get(d, `/api/runs?where=${encodeURIComponent('params.model.type = qornn and metrics.test_accuracy > 0.9 and status = done')}&sort=metrics.test_accuracy&desc=1`)).json();
    assert.deepEqual(
      q.rows.map((r: any) => [r.config.model.bits, r.summary.test_accuracy.final]),
      [
        [8, 0.975],
        [8, 0.97],
        [8, 0.965],
        [4, 0.905],
      ],
    );
    assert.equal(q.total, 4);
    const paged = (await get(d, '/api/runs?limit=5&offset=10&sort=id')).json();
    assert.deepEqual(
      paged.rows.map((r: any) => r.id),
      [11, 12, 13, 14, 15],
    );
    assert.equal(paged.total, 15);
  });

  it('runs: filter and sort errors come back as 400 with the position', async () => {
    const bad = await get(d, `/api/runs?where=${encodeURIComponent('params.bits = 4 or status = done')}`);
    assert.equal(bad.status, 400);
    const body = bad.json();
    assert.equal(body.kind, 'filter');
    assert.equal(body.pos, 16);
    assert.match(body.error, /^filter: 'or' is not supported \(filters are AND-only\) at column 17/);
    const sort = await get(d, '/api/runs?sort=nonsense');
    assert.equal(sort.status, 400);
    assert.match(sort.json().error, /^orderBy: expected params\.<path>, metrics\.<key>/);
    const lim = await get(d, '/api/runs?limit=-3');
    assert.equal(lim.status, 400);
    assert.equal(lim.json().error, `limit: expected a non-negative integer, got '-3'`);
  });

  it('run detail: config, provenance, curve keys and the log tail; unknown trial → 404', async () => {
    const t = (await get(d, '/api/runs/1')).json();
    assert.equal(t.status, 'done');
    assert.deepEqual(t.config.model, { bits: 4, hidden: 128, type: 'hadamrnn' });
    assert.equal(t.provenance.gitCommit, 'abc1234');
    assert.deepEqual(
      t.curves.map((c: any) => [c.key, c.points]),
      [
        ['loss', FIXTURE_STEPS],
        ['val_accuracy', FIXTURE_STEPS],
      ],
    );
    assert.match(t.log.text, /"step 1990 loss 0\.0100"\}\n$/);
    assert.equal(t.log.truncated, false);
    const byHash = (await get(d, `/api/runs/${t.hash.slice(0, 8)}`)).json();
    assert.equal(byHash.id, 1);
    const missing = await get(d, '/api/runs/999');
    assert.equal(missing.status, 404);
    assert.match(missing.json().error, /^no trial with id 999|^no trial '999'/);
    const diag = (await get(d, '/api/runs/4/metrics?keys=orthogonality_error,sign_flips')).json();
    assert.deepEqual(
      diag.curves.map((c: any) => [c.key, c.steps.length]),
      [
        ['orthogonality_error', FIXTURE_STEPS],
        ['sign_flips', FIXTURE_STEPS],
      ],
    );
  });

  it('curves: one seed band per configuration', async () => {
    const c = (await get(d, '/api/curves?ids=1,2,3,4,5,6,10&key=val_accuracy')).json();
    assert.equal(c.key, 'val_accuracy');
    assert.deepEqual(
      c.groups.map((g: any) => [g.label, g.trialIds.length]),
      [
        ['hadamrnn 4-bit n=128 smnist', FIXTURE_SEEDS.length],
        ['qornn 4-bit n=128 smnist', 3],
        ['lstm fp n=128 smnist', 1],
      ],
    );
    const band = c.groups[0].band;
    assert.equal(band.steps.length, FIXTURE_STEPS);
    assert.ok(band.std.some((s: number) => s > 0), 'seeds differ, so the band has width');
    assert.ok(c.groups[2].band.std.every((s: number) => s === 0));
    assert.ok(c.keys.includes('loss'));
    const bad = await get(d, '/api/curves?ids=1,x');
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error, `ids: expected trial ids (digits), got 'x'`);
    const svg = await get(d, '/api/plots/curves.svg?ids=1,2,3&key=loss&baseline=0.1&baselineLabel=memoryless');
    assert.match(svg.type, /^image\/svg\+xml/);
    assert.match(svg.text, /class="reference" data-value="0\.1"/);
  });

  it('paper tables: listed with parse errors, rendered in every format', async () => {
    const list = (await get(d, '/api/tables')).json();
    assert.deepEqual(
      list.tables.map((t: any) => [t.name, t.title ?? null, Boolean(t.error)]),
      [
        ['broken', null, true],
        ['fixture', 'Fixture: sMNIST accuracy', false],
      ],
    );
    assert.match(list.tables[0].error, /broken\.yaml:\d+:\d+: invalid YAML/);
    const md = (await get(d, '/api/tables/fixture?format=json')).json().markdown;
    assert.match(md, /\| HadamRNN \| 95\.0 ± 0\.5 \(3\) \|/);
    assert.match(md, /\| LSTM \| \*\*98\.5 ± 0\.5 \(3\)\*\* \|/);
    const csv = await get(d, '/api/tables/fixture?format=csv&download=1');
    assert.match(csv.type, /^text\/csv/);
    const latex = await get(d, '/api/tables/fixture?format=latex');
    assert.match(latex.text, /\\toprule/);
    const badFmt = await get(d, '/api/tables/fixture?format=xlsx');
    assert.equal(badFmt.status, 400);
    assert.equal(badFmt.json().error, `format: expected one of md, csv, latex, got 'xlsx'`);
    assert.equal((await get(d, '/api/tables/nope')).status, 404);
    assert.equal((await get(d, '/api/tables/..%2F..%2Fetc')).status, 400);
  });

  it('size vs accuracy: seeds averaged per config, family = model type', async () => {
    const s = (await get(d, '/api/scatter')).json();
    assert.deepEqual(
      s.points.map((p: any) => [p.family, p.label, p.sizeBytes, Math.round(p.accuracy * 1000) / 1000, p.n]),
      [
        ['hadamrnn', '4-bit', 2400, 0.95, 3],
        ['qornn', '4-bit', 9800, 0.9, 3],
        ['qornn', '8-bit', 18000, 0.97, 3],
        ['lstm', 'fp', 410000, 0.985, 3],
      ],
    );
    const svg = await get(d, `/api/plots/size-accuracy.svg?where=${encodeURIComponent('params.model.type = qornn')}`);
    assert.equal((svg.text.match(/class="point"/g) ?? []).length, 2);
    assert.equal((await get(d, '/api/scatter?where=bogus')).status, 400);
  });

  it('refuses writes, foreign Host headers and unknown paths', async () => {
    const post = await fetch(new URL('/api/runs', d.url), { method: 'POST' });
    assert.equal(post.status, 405);
    assert.match(((await post.json()) as { error: string }).error, /method POST not allowed/);
    // fetch() may not set Host, so use node:http for the DNS-rebinding case.
    const rebinding = await new Promise<{ status: number; body: string }>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port: d.port, path: '/api/overview', headers: { Host: 'evil.example:80' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
      req.end();
    });
    assert.equal(rebinding.status, 403);
    assert.match(JSON.parse(rebinding.body).error, /unexpected Host header 'evil\.example:80'/);
    assert.equal((await get(d, '/api/nothing')).status, 404);
    const malformed = await get(d, '/api/runs/%E0%A4%A');
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json().error, `malformed URL component '%E0%A4%A'`);
    assert.equal((await get(d, '/../package.json')).status, 404);
  });
});

describe('startDashboard errors', () => {
  it('names a missing database and a non-loopback host', async () => {
    await assert.rejects(startDashboard({ dbPath: '/nonexistent/dir/x.db', port: 0 }), /store: database \/nonexistent\/dir\/x\.db does not exist/);
    await assert.rejects(startDashboard({ dbPath: 'x.db', port: 0, host: '0.0.0.0' as never }), /dashboard: host must be a loopback address/);
    await assert.rejects(startDashboard({ dbPath: 'x.db', port: 70000 }), /dashboard: port must be an integer in 0\.\.65535, got 70000/);
  });

  it('a busy port is reported and the store is closed again', async () => {
    const fx = smallFixture();
    const a = await startDashboard({ dbPath: fx.path, port: 0, tablesDir: fx.tablesDir });
    try {
      await assert.rejects(startDashboard({ dbPath: fx.path, port: a.port }), new RegExp(`dashboard: cannot listen on 127\\.0\\.0\\.1:${a.port}: .*EADDRINUSE`));
    } finally {
      await a.close();
      fx.cleanup();
    }
  });
});

describe('10 000 trials', () => {
  let fx: FixtureDb;
  let d: Dashboard;
  let blind: Dashboard;
  before(async () => {
    fx = largeFixture(10_000);
    d = await startDashboard({ dbPath: fx.path, port: 0, tablesDir: fx.tablesDir });
    // The same database without its per-step table: list endpoints must not notice.
    const copy = join(fx.dir, 'no-metrics.db');
    copyFileSync(fx.path, copy);
    dropTable(copy, 'metrics');
    blind = await startDashboard({ dbPath: copy, port: 0, tablesDir: fx.tablesDir });
  });
  after(async () => {
    await d?.close();
    await blind?.close();
    fx?.cleanup();
  });

  it('the runs list answers quickly, filtered and sorted by a metric', async () => {
    await get(d, '/api/runs?limit=100'); // warm the page cache
    const t0 = performance.now();
    const r = await get(d, `/api/runs?limit=100&where=${encodeURIComponent('params.model.type = qornn and metrics.test_accuracy > 0.6')}&sort=metrics.test_accuracy&desc=1`);
    const ms = performance.now() - t0;
    assert.equal(r.status, 200);
    const page = r.json();
    assert.equal(page.rows.length, 100);
    assert.ok(page.total > 1000 && page.total < 2500, `total ${page.total}`);
    const accs = page.rows.map((x: any) => x.summary.test_accuracy.final);
    assert.deepEqual(accs, [...accs].sort((a, b) => b - a));
    assert.ok(ms < 300, `runs list took ${ms.toFixed(0)} ms`);
    const t1 = performance.now();
    assert.equal((await get(d, '/api/overview')).json().totals.done, 10_000);
    assert.ok(performance.now() - t1 < 300);
  });

  it('list endpoints never read the per-step metrics table', async () => {
    for (const path of ['/api/overview', '/api/runs?limit=50&sort=metrics.loss', `/api/runs?where=${encodeURIComponent('best.loss < 0.3')}`, '/api/scatter', '/api/plots/size-accuracy.svg']) {
      const r = await get(blind, path);
      assert.equal(r.status, 200, `${path}: ${r.text.slice(0, 200)}`);
    }
    // …whereas the curve endpoints do (so the check above can fail).
    const c = await get(blind, '/api/curves?ids=1,2');
    assert.equal(c.status, 500);
    assert.match(c.json().error, /no such table: metrics/);
  });
});
