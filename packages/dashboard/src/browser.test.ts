/**
 * The page in a real browser: Debian's Chromium driven by playwright-core, against a server
 * started here on the small fixture database.
 *
 * Without /usr/bin/chromium the suite fails under CI=true (CI installs it) and is skipped
 * with a message otherwise. Set DASHBOARD_SCREENSHOT_DIR to keep screenshots (development).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { finishTrial, openStore, runningTrials } from '@orthoquant/store';
import { startDashboard, type Dashboard } from './index.js';
import { chromiumGate, CHROMIUM_PATH, smallFixture, type FixtureDb } from './testing.js';

const CHROMIUM = CHROMIUM_PATH;
const gate = chromiumGate(existsSync(CHROMIUM), process.env.CI);
const skip = gate.skip;
const shots = process.env.DASHBOARD_SCREENSHOT_DIR;

describe('the browser gate', () => {
  it('runs with Chromium, fails without it under CI=true, skips with a message otherwise', () => {
    assert.deepEqual(chromiumGate(true, 'true'), { skip: false, error: null });
    assert.deepEqual(chromiumGate(true, undefined), { skip: false, error: null });
    assert.match(chromiumGate(false, 'true').error ?? '', /\/usr\/bin\/chromium is missing but CI=true/);
    assert.equal(chromiumGate(false, 'true').skip, false);
    assert.match(String(chromiumGate(false, undefined).skip), /\/usr\/bin\/chromium not found: browser tests skipped/);
    assert.equal(chromiumGate(false, 'false').error, null);
  });
});

describe('dashboard in Chromium', { skip }, () => {
  let fx: FixtureDb;
  let d: Dashboard;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    if (gate.error) throw new Error(gate.error);
    fx = smallFixture();
    d = await startDashboard({ dbPath: fx.path, port: 0, host: '127.0.0.1', tablesDir: fx.tablesDir });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A 400 from a deliberately bad filter is expected; anything else is a bug.
      if (m.type() === 'error' && !/status of 400/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  });

  after(async () => {
    await browser?.close();
    await d?.close();
    fx?.cleanup();
  });

  async function shot(name: string): Promise<void> {
    if (!shots) return;
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  const rowCount = () => page.locator('#runs tbody tr').count();

  it('loads the overview with the fixture counts and the running trial', async () => {
    await page.goto(d.url);
    await page.locator('.card[data-status=done] b').filter({ hasText: '12' }).waitFor();
    assert.equal(await page.locator('.card[data-status=total] b').textContent(), '15');
    assert.match((await page.locator('#sweeps').textContent()) ?? '', /fixture-sweep/);
    assert.equal(await page.locator('#running tbody tr').count(), 1);
    assert.match((await page.locator('#running').textContent()) ?? '', /#14.*fixture-worker/);
    await shot('overview');
  });

  it('the runs table shows every trial; a filter narrows it; a bad filter shows the parse error', async () => {
    await page.click('nav a[data-view=runs]');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 15);
    assert.equal(await rowCount(), 15);
    assert.match((await page.locator('#runs-count').textContent()) ?? '', /1–15 of 15 trials/);
    await page.fill('#filter', 'params.model.type = qornn');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 7);
    await page.fill('#filter', 'params.model.type = qornn and metrics.test_accuracy > 0.95');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 3);
    assert.match(page.url(), /where=params\.model\.type/);
    await page.fill('#filter', 'params.model.type = qornn or status = done');
    await page.locator('#filter-error .error').waitFor();
    assert.match((await page.locator('#filter-error').textContent()) ?? '', /'or' is not supported \(filters are AND-only\) at column 27/);
    await shot('runs-error');
    await page.fill('#filter', 'params.model.type = hadamrnn and status = done');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 3 && !document.querySelector('#filter-error .error'));
    await shot('runs');
  });

  it('sorting by a metric column orders the rows', async () => {
    await page.fill('#filter', 'status = done');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 12);
    await page.locator('#runs th', { hasText: /^test_accuracy/ }).click();
    await page.waitForFunction(() => /test_accuracy ▲/.test(document.querySelector('#runs thead')?.textContent ?? ''));
    await page.locator('#runs th', { hasText: /^test_accuracy/ }).click();
    await page.waitForFunction(() => /test_accuracy ▼/.test(document.querySelector('#runs thead')?.textContent ?? ''));
    const ids = await page.locator('#runs tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.id)));
    assert.deepEqual(ids.slice(0, 3), [12, 11, 10], 'LSTM seeds 2, 1, 0 (0.99, 0.985, 0.98)');
    const firstAcc = await page.locator('#runs tbody tr').first().locator('td.num').first().textContent();
    assert.equal(firstAcc, '0.9900');
  });

  it('selecting runs renders their seed-band curve', async () => {
    await page.fill('#filter', 'params.model.type = hadamrnn and status = done');
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 3);
    for (const box of await page.locator('#runs tbody input[type=checkbox]').all()) await box.check();
    await page.click('#plot-selected');
    const chart = page.locator('#curves-chart .chart');
    await chart.locator('canvas').waitFor();
    assert.equal(await chart.getAttribute('data-series'), '1');
    assert.equal(Number(await chart.getAttribute('data-points')), 40);
    // Something was drawn: count non-transparent pixels of the plot canvas.
    const inked = await chart.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 500, `only ${inked} pixels drawn`);
    await shot('curves');
  });

  it('a run detail shows config, curves, diagnostics and the log tail', async () => {
    await page.goto(`${d.url}#/run/4`);
    await page.locator('#run-diagnostics canvas').first().waitFor();
    assert.equal(await page.locator('#run-curves .chart').count(), 2);
    assert.equal(await page.locator('#run-diagnostics .chart').count(), 3);
    assert.match((await page.locator('#config').textContent()) ?? '', /"type": "qornn"/);
    await page.goto(`${d.url}#/run/1`);
    await page.locator('#log').waitFor();
    assert.match((await page.locator('#log').textContent()) ?? '', /step 1990 loss 0\.0100/);
    await shot('run');
  });

  it('the tables view renders the spec and offers exports; the scatter shows one marker per config', async () => {
    await page.click('nav a[data-view=tables]');
    await page.locator('#table-md').waitFor();
    assert.match((await page.locator('#table-md').textContent()) ?? '', /\| QORNN 8-bit \| 97\.0 ± 0\.5 \(3\) \|/);
    assert.equal(await page.locator('a.button', { hasText: /^Export (md|csv|latex)$/ }).count(), 3);
    assert.match((await page.locator('#table-list').textContent()) ?? '', /broken.*invalid YAML/s);
    await shot('tables');
    await page.click('nav a[data-view=scatter]');
    await page.locator('#scatter-plot svg').waitFor();
    assert.equal(await page.locator('#scatter-plot svg .point').count(), 4);
    await shot('scatter');
  });

  it('auto-refreshes while trials run: finishing the running trial shows up without a reload', async () => {
    await page.goto(d.url);
    await page.locator('.card[data-status=done] b').filter({ hasText: '12' }).waitFor();
    const store = openStore(fx.path);
    try {
      const [lease] = runningTrials(store);
      assert.equal(lease.trialId, 14);
      assert.ok(finishTrial(store, lease, { test_accuracy: 0.5 }));
    } finally {
      store.close();
    }
    await page.locator('.card[data-status=done] b').filter({ hasText: '13' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#running tbody tr').count(), 0);
    assert.match((await page.locator('#live-state').textContent()) ?? '', /idle/);
  });

  it('a metric recorded once is drawn as a marker; a loss opens on a log axis with its seed band above zero', async () => {
    await page.goto(`${d.url}#/curves?ids=13&key=loss`);
    const once = page.locator('#curves-chart .chart');
    await once.locator('canvas').waitFor();
    assert.equal(await once.getAttribute('data-points'), '1');
    assert.equal(await once.getAttribute('data-markers'), '1');
    await page.goto(`${d.url}#/curves?ids=1,2,3&key=loss`);
    const chart = page.locator('#curves-chart .chart[data-markers="0"]');
    await chart.locator('canvas').waitFor();
    assert.equal(await chart.getAttribute('data-scale'), 'log');
    assert.ok(Number(await chart.getAttribute('data-band-min')) > 0, 'the band stays positive on the log axis');
    await shot('curves-log');
  });

  it('a route that does not exist shows an error with a way back', async () => {
    await page.goto(`${d.url}#/nowhere`);
    await page.locator('.error-box .error').waitFor();
    assert.match((await page.locator('.error-box').textContent()) ?? '', /unknown view 'nowhere'/);
    await page.click('#back-overview');
    await page.locator('.card[data-status=total] b').waitFor();
    assert.match(page.url(), /#\/overview$/);
  });

  it('no page errors along the way', () => {
    assert.deepEqual(problems, []);
  });
});
