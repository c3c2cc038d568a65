// orthoquant dashboard: one page, hash routes, vanilla ES modules, uPlot for curves.
// Everything the page shows comes from /api/* (see src/server.ts); DOM is built with
// textContent only, except the server's own escaped SVG plots, which are parsed as XML.
import uPlot from '/vendor/uPlot.esm.js';

const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];
const DIAGNOSTICS = ['orthogonality_error', 'sign_flips', 'zero_fraction', 'sparsity'];
const PAGE = 100;
const STALE_MS = 60_000;

const view = document.getElementById('view');
const state = { running: 0, timer: null, charts: [], mounts: [], lastHash: '', renders: 0 };

// ------------------------------------------------------------------ helpers

/** h('a', { href: '#', class: 'x', onclick }, 'text', child) */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
  if (!res.ok) throw Object.assign(new Error(body.error ?? `HTTP ${res.status}`), { body, status: res.status });
  return body;
}

function fmt(v, key = '') {
  if (v === null || v === undefined) return '—';
  if (typeof v !== 'number') return String(v);
  if (/bytes$/.test(key)) return v >= 1e6 ? `${(v / 1e6).toFixed(2)} MB` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} kB` : `${v} B`;
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

function ago(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${(s / 3600).toFixed(1)} h ago`;
}

function statusBadge(s) {
  return h('span', { class: `status status-${s}` }, s);
}

function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const p = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, p, out);
    else out[p] = Array.isArray(v) ? JSON.stringify(v) : v;
  }
  return out;
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '') || 'overview';
  const [path, query = ''] = raw.split('?');
  return { parts: path.split('/'), params: new URLSearchParams(query) };
}

function setHashParams(name, params, replace = true) {
  const q = params.toString();
  const next = `#/${name}${q ? `?${q}` : ''}`;
  if (next === location.hash) return;
  if (replace) history.replaceState(null, '', next);
  else location.hash = next;
  state.lastHash = location.hash;
}

function showError(e) {
  return h('div', { class: 'error-box' }, h('p', { class: 'error', role: 'alert' }, e.message), wayBack());
}

/** Links out of a dead end: the previous page (when there is one) and the overview. */
function wayBack() {
  const links = [h('a', { class: 'button', id: 'back-overview', href: '#/overview' }, 'Back to the overview')];
  if (history.length > 1) {
    const back = h('a', { class: 'button', id: 'back-previous', href: '#' }, 'Previous page');
    back.addEventListener('click', (ev) => {
      ev.preventDefault();
      history.back();
    });
    links.unshift(back);
  }
  return h('p', { class: 'way-back' }, links);
}

function svgNode(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg') throw new Error('the server sent an invalid SVG');
  return document.importNode(root, true);
}

function destroyCharts() {
  for (const c of state.charts) c.destroy();
  state.charts = [];
}

// ------------------------------------------------------------------ charts (uPlot)

/**
 * A uPlot chart of seed bands: per group, mean line plus a ±σ band between two invisible
 * series. `groups`: [{ label, band: { steps, mean, std } }].
 */
function bandChart(title, groups, { width = 560, height = 300, logY = false } = {}) {
  const steps = [...new Set(groups.flatMap((g) => g.band.steps))].sort((a, b) => a - b);
  const index = new Map(steps.map((s, i) => [s, i]));
  const data = [steps];
  const series = [{ label: 'step' }];
  const bands = [];
  let points = 0;
  groups.forEach((g, gi) => {
    const color = PALETTE[gi % PALETTE.length];
    const mean = new Array(steps.length).fill(null);
    const hi = new Array(steps.length).fill(null);
    const lo = new Array(steps.length).fill(null);
    g.band.steps.forEach((s, k) => {
      const i = index.get(s);
      const m = g.band.mean[k];
      // the band stays inside the runs' own range (a loss band never dips below zero), and
      // on a log axis it stays positive
      const top = g.band.max ? Math.min(m + g.band.std[k], g.band.max[k]) : m + g.band.std[k];
      let bottom = g.band.min ? Math.max(m - g.band.std[k], g.band.min[k]) : m - g.band.std[k];
      if (logY && !(bottom > 0)) bottom = m;
      mean[i] = m;
      hi[i] = top;
      lo[i] = bottom;
      points++;
    });
    const base = data.length;
    data.push(mean, hi, lo);
    // a metric recorded once or twice is drawn as markers, not an invisible line
    const sparse = g.band.steps.length <= 2;
    series.push(
      { label: g.label, stroke: color, width: 2, spanGaps: true, points: sparse ? { show: true, size: 9, fill: color } : { show: false } },
      { label: `${g.label} +σ`, stroke: 'transparent', width: 0, spanGaps: true, points: { show: false } },
      { label: `${g.label} −σ`, stroke: 'transparent', width: 0, spanGaps: true, points: { show: false } },
    );
    if (g.band.std.some((s) => s > 0)) bands.push({ series: [base + 1, base + 2], fill: `${color}33` });
  });
  const markers = groups.filter((g) => g.band.steps.length > 0 && g.band.steps.length <= 2).length;
  const lows = bands.flatMap((b) => data[b.series[1]].filter((v) => v !== null && Number.isFinite(v)));
  const dataset = { points: String(points), series: String(groups.length), markers: String(markers), scale: logY ? 'log' : 'linear' };
  if (lows.length) dataset.bandMin = String(Math.min(...lows));
  const box = h('div', { class: 'chart', dataset }, h('h4', {}, title));
  const plotEl = h('div', { class: 'uplot-host' });
  box.append(plotEl);
  const legend = h('div', { class: 'legend' }, groups.map((g, gi) => h('span', {}, h('i', { style: `background:${PALETTE[gi % PALETTE.length]}` }), `${g.label}${g.trialIds && g.trialIds.length > 1 ? ` (n=${g.trialIds.length})` : ''}`)));
  box.append(legend);
  if (steps.length === 0) {
    plotEl.append(h('p', { class: 'muted no-data' }, 'no data'));
    return box;
  }
  const opts = {
    width,
    height,
    legend: { show: false },
    scales: { x: { time: false }, y: logY ? { distr: 3 } : {} },
    axes: [{ label: 'step' }, { size: 60 }],
    series,
    bands,
  };
  // Created once the view is in the document (see renderRoute), so sizes are known.
  state.mounts.push(() => state.charts.push(new uPlot({ ...opts, width: Math.max(280, Math.min(width, plotEl.clientWidth || width)) }, data, plotEl)));
  return box;
}

function rawChart(key, curve, width = 640) {
  return bandChart(key, [{ label: key, band: { steps: curve.steps, mean: curve.values.map((v) => (v === null ? NaN : v)), std: curve.steps.map(() => 0) } }], { width, height: 220 });
}

// ------------------------------------------------------------------ overview

async function renderOverview() {
  const o = await api('/api/overview');
  const t = o.totals;
  const cards = h('div', { class: 'cards' }, ['total', 'pending', 'running', 'done', 'failed'].map((k) => h('div', { class: 'card', dataset: { status: k } }, h('span', { class: 'muted' }, k), h('b', {}, String(t[k])))));
  const rows = o.sweeps.map((s) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `#/runs?where=${encodeURIComponent(`sweep = ${JSON.stringify(s.name).replaceAll('"', "'")}`)}` }, s.name)),
      h('td', { class: 'muted' }, s.specPath ?? ''),
      h('td', {}, h('span', { class: 'progress', title: `${Math.round(s.progress * 100)} %` }, h('span', { style: `width:${(s.progress * 100).toFixed(1)}%` })), ` ${Math.round(s.progress * 100)} %`),
      ...['total', 'pending', 'running', 'done', 'failed'].map((k) => h('td', { class: 'num' }, String(s[k]))),
    ),
  );
  const running = o.sweeps.flatMap((s) => s.running_trials.map((r) => ({ ...r, sweep: s.name })));
  const out = [
    h('h2', {}, 'Sweeps'),
    cards,
    o.sweeps.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'sweeps' }, h('thead', {}, h('tr', {}, ['sweep', 'file', 'progress', 'total', 'pending', 'running', 'done', 'failed'].map((c) => h('th', {}, c)))), h('tbody', {}, rows)))
      : h('p', { class: 'muted' }, 'No sweeps recorded yet.'),
    h('h3', {}, `Running trials (${running.length})`),
    running.length
      ? h(
          'table',
          { id: 'running' },
          h('thead', {}, h('tr', {}, ['trial', 'sweep', 'worker', 'host', 'attempt', 'started', 'last heartbeat'].map((c) => h('th', {}, c)))),
          h(
            'tbody',
            {},
            running.map((r) =>
              h(
                'tr',
                {},
                h('td', {}, h('a', { href: `#/run/${r.trialId}` }, `#${r.trialId}`)),
                h('td', {}, r.sweep),
                h('td', {}, r.workerId ?? '—'),
                h('td', {}, r.host ?? '—'),
                h('td', { class: 'num' }, String(r.attempt)),
                h('td', {}, ago(r.startedAt)),
                h('td', { class: r.heartbeatAt && Date.now() - r.heartbeatAt > STALE_MS ? 'stale' : '' }, ago(r.heartbeatAt)),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'Nothing running.'),
  ];
  return out;
}

// ------------------------------------------------------------------ runs

const PREFERRED_METRICS = ['test_accuracy', 'val_accuracy', 'val_loss', 'test_loss', 'loss', 'bpc', 'size_bytes'];

async function renderRuns(params) {
  const where = params.get('where') ?? '';
  const sort = params.get('sort') ?? '';
  const desc = params.get('desc') === '1';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const selected = new Set((params.get('sel') ?? '').split(',').filter(Boolean).map(Number));

  const input = h('input', { id: 'filter', type: 'search', value: where, placeholder: 'filter, e.g. params.model.bits = 4 and metrics.test_accuracy > 0.9 and status = done', 'aria-label': 'filter', spellcheck: 'false', autocomplete: 'off' });
  const errorBox = h('div', { id: 'filter-error' });
  const info = h('span', { class: 'muted', id: 'runs-count' });
  const plotBtn = h('button', { class: 'primary', id: 'plot-selected', disabled: selected.size === 0 }, `Plot selected (${selected.size})`);
  const tableHost = h('div', { class: 'table-wrap' });
  const pager = h('div', { class: 'toolbar' });

  const update = (patch) => {
    const p = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === '' || v === null || v === undefined || v === false) p.delete(k);
      else p.set(k, String(v));
    }
    params = p;
    setHashParams('runs', p);
  };

  plotBtn.addEventListener('click', () => {
    location.hash = `#/curves?ids=${[...selected].join(',')}`;
  });

  async function load() {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (where) q.set('where', where);
    if (sort) q.set('sort', sort);
    if (desc) q.set('desc', '1');
    let page;
    try {
      page = await api(`/api/runs?${q}`);
    } catch (e) {
      errorBox.replaceChildren(showError(e));
      info.textContent = '';
      tableHost.replaceChildren();
      return;
    }
    errorBox.replaceChildren();
    info.textContent = page.total ? `${page.offset + 1}–${page.offset + page.rows.length} of ${page.total} trials` : 'no trial matches';
    tableHost.replaceChildren(runsTable(page));
    pager.replaceChildren(
      h('button', { disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, '← previous'),
      h('button', { disabled: offset + PAGE >= page.total, onclick: () => go(offset + PAGE) }, 'next →'),
    );
  }

  function go(off) {
    update({ offset: off || '' });
    renderRouteSoon();
  }

  function runsTable(page) {
    const flat = page.rows.map((r) => flatten(r.config));
    const paramKeys = [...new Set(flat.flatMap((f) => Object.keys(f)))].filter((k) => new Set(flat.map((f) => JSON.stringify(f[k]))).size > 1 || k === 'model.type').sort();
    const inRows = new Set(page.rows.flatMap((r) => Object.keys(r.summary)));
    const metrics = [...PREFERRED_METRICS.filter((k) => inRows.has(k)), ...[...inRows].filter((k) => !PREFERRED_METRICS.includes(k) && !DIAGNOSTICS.includes(k)).sort()].slice(0, 8);
    const header = (label, field) => {
      const active = sort === field;
      return h(
        'th',
        {
          class: field.startsWith('metrics.') ? 'sortable num' : 'sortable',
          'aria-sort': active ? (desc ? 'descending' : 'ascending') : 'none',
          title: `sort by ${field}`,
          onclick: () => {
            update({ sort: field, desc: active && !desc ? 1 : '', offset: '' });
            renderRouteSoon();
          },
        },
        label + (active ? (desc ? ' ▼' : ' ▲') : ''),
      );
    };
    return h(
      'table',
      { id: 'runs' },
      h('thead', {}, h('tr', {}, h('th', {}, ''), header('id', 'id'), header('status', 'status'), paramKeys.map((k) => header(k, `params.${k}`)), metrics.map((k) => header(k, `metrics.${k}`)))),
      h(
        'tbody',
        {},
        page.rows.map((r, i) => {
          const box = h('input', { type: 'checkbox', 'aria-label': `select trial ${r.id}`, checked: selected.has(r.id) });
          box.addEventListener('change', () => {
            if (box.checked) selected.add(r.id);
            else selected.delete(r.id);
            plotBtn.disabled = selected.size === 0;
            plotBtn.textContent = `Plot selected (${selected.size})`;
            update({ sel: [...selected].join(',') });
          });
          return h(
            'tr',
            { dataset: { id: String(r.id) } },
            h('td', {}, box),
            h('td', {}, h('a', { href: `#/run/${r.id}` }, `#${r.id}`)),
            h('td', {}, statusBadge(r.status)),
            paramKeys.map((k) => h('td', {}, fmt(flat[i][k]))),
            metrics.map((k) => h('td', { class: 'num' }, fmt(r.summary[k]?.final, k))),
          );
        }),
      ),
    );
  }

  let timer = null;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      update({ where: input.value, offset: '' });
      renderRouteSoon();
    }, 250);
  });

  await load();
  return [
    h('h2', {}, 'Runs'),
    h('div', { class: 'toolbar' }, input, plotBtn, info),
    errorBox,
    tableHost,
    pager,
    h('p', { class: 'muted' }, 'Fields: params.<path>, metrics.<key> (final), best.<key>, status, mode, sweep, hash, id, attempts; AND only.'),
  ];
}

// ------------------------------------------------------------------ run detail

async function renderRun(ref) {
  const t = await api(`/api/runs/${encodeURIComponent(ref)}`);
  const keys = t.curves.map((c) => c.key);
  const main = keys.filter((k) => !DIAGNOSTICS.includes(k));
  const diag = keys.filter((k) => DIAGNOSTICS.includes(k));
  const charts = h('div', { class: 'grid2', id: 'run-curves' });
  const diagCharts = h('div', { class: 'grid2', id: 'run-diagnostics' });
  const wanted = [...main.slice(0, 8), ...diag];
  if (wanted.length) {
    const { curves } = await api(`/api/runs/${t.id}/metrics?keys=${encodeURIComponent(wanted.join(','))}`);
    for (const c of curves) (DIAGNOSTICS.includes(c.key) ? diagCharts : charts).append(rawChart(c.key, c));
  }
  const summaryRows = Object.entries(t.summary).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, fmt(v.final, k)), h('td', { class: 'num' }, fmt(v.best, k)), h('td', { class: 'num' }, v.bestStep ?? '—')));
  const prov = t.provenance ? h('dl', { class: 'kv' }, Object.entries(t.provenance).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, k === 'recordedAt' ? new Date(v).toISOString() : fmt(v))])) : h('p', { class: 'muted' }, 'No provenance recorded.');
  return [
    h('h2', {}, `Trial #${t.id} `, statusBadge(t.status), ' ', h('span', { class: 'muted' }, t.hash.slice(0, 12))),
    t.error ? h('p', { class: 'error' }, t.error) : null,
    h('p', { class: 'muted' }, `sweeps: ${t.sweeps.join(', ') || '—'} · mode ${t.mode} · attempts ${t.attempts} · started ${ago(t.startedAt)} · finished ${ago(t.finishedAt)}${t.status === 'running' ? ` · heartbeat ${ago(t.heartbeatAt)}` : ''}`),
    h('p', {}, h('a', { class: 'button', href: `#/curves?ids=${t.id}` }, 'Open in curves view')),
    h('h3', {}, 'Curves'),
    wanted.length ? charts : h('p', { class: 'muted' }, 'No per-step metrics recorded.'),
    diag.length ? [h('h3', {}, 'Diagnostics'), diagCharts] : null,
    h('div', { class: 'grid2' }, h('div', {}, h('h3', {}, 'Resolved config'), h('pre', { class: 'block', id: 'config' }, JSON.stringify(t.config, null, 2))), h('div', {}, h('h3', {}, 'Summary'), h('table', {}, h('thead', {}, h('tr', {}, ['metric', 'final', 'best', 'best step'].map((c) => h('th', {}, c)))), h('tbody', {}, summaryRows)), h('h3', {}, 'Provenance'), prov)),
    t.artifacts.length ? [h('h3', {}, 'Artifacts'), h('table', {}, h('tbody', {}, t.artifacts.map((a) => h('tr', {}, h('td', {}, a.kind), h('td', {}, a.path), h('td', { class: 'num' }, fmt(a.bytes, 'bytes')), h('td', { class: 'num' }, a.step ?? '')))))] : null,
    h('h3', {}, 'Log tail'),
    t.log ? logBlock(t.log) : h('p', { class: 'muted' }, 'No log artifact.'),
  ];
}

function logBlock(log) {
  const pre = h('pre', { class: 'block', id: 'log', title: log.path }, log.missing ? `(log file not found: ${log.path})` : (log.truncated ? '…\n' : '') + (log.text || '(empty)'));
  state.mounts.push(() => (pre.scrollTop = pre.scrollHeight)); // a tail: show its end
  return pre;
}

// ------------------------------------------------------------------ curves of selected runs

async function renderCurves(params) {
  const ids = params.get('ids') ?? '';
  if (!ids) return [h('h2', {}, 'Curves'), h('p', { class: 'muted' }, 'Select runs in the Runs view (checkboxes), then “Plot selected”.')];
  const key = params.get('key') ?? '';
  const c = await api(`/api/curves?ids=${encodeURIComponent(ids)}${key ? `&key=${encodeURIComponent(key)}` : ''}`);
  const select = h('select', { id: 'curve-key', 'aria-label': 'metric' }, c.keys.map((k) => h('option', { value: k, selected: k === c.key }, k)));
  select.addEventListener('change', () => {
    const p = new URLSearchParams(params);
    p.set('key', select.value);
    setHashParams('curves', p);
    renderRouteSoon();
  });
  const baseline = h('input', { type: 'text', id: 'baseline', placeholder: 'reference line (e.g. memoryless baseline)', size: 28 });
  const svgLink = h('a', { class: 'button', href: `/api/plots/curves.svg?ids=${encodeURIComponent(ids)}&key=${encodeURIComponent(c.key)}`, download: `curves-${c.key}.svg` }, 'Download SVG');
  baseline.addEventListener('input', () => {
    const v = baseline.value.trim();
    svgLink.href = `/api/plots/curves.svg?ids=${encodeURIComponent(ids)}&key=${encodeURIComponent(c.key)}${v ? `&baseline=${encodeURIComponent(v)}&baselineLabel=memoryless%20baseline` : ''}`;
  });
  return [
    h('h2', {}, `Curves: ${c.key || '—'}`),
    h('div', { class: 'toolbar' }, select, baseline, svgLink, h('span', { class: 'muted' }, `${c.groups.length} configuration(s) from trials ${ids}; bands: mean ± std across seeds`)),
    c.groups.length ? h('div', { id: 'curves-chart' }, bandChart(c.key, c.groups, { width: Math.min(1100, window.innerWidth - 80), height: 420, logY: /loss|bpc|error|flips/.test(c.key) && c.groups.every((g) => g.band.mean.every((m) => m > 0)) })) : h('p', { class: 'muted' }, 'No curves for these trials.'),
  ];
}

// ------------------------------------------------------------------ paper tables

async function renderTables(params) {
  const { dir, tables } = await api('/api/tables');
  const name = params.get('name') ?? tables.find((t) => !t.error)?.name ?? '';
  const list = h(
    'ul',
    { id: 'table-list' },
    tables.map((t) => h('li', {}, t.error ? [h('b', {}, t.name), ' ', h('span', { class: 'error' }, t.error)] : h('a', { href: `#/tables?name=${encodeURIComponent(t.name)}` }, `${t.name}: ${t.title}`))),
  );
  const out = [h('h2', {}, 'Paper tables'), h('p', { class: 'muted' }, `Specs in ${dir}`), tables.length ? list : h('p', { class: 'muted' }, 'No table specs found.')];
  if (name && tables.some((t) => t.name === name && !t.error)) {
    try {
      const t = await api(`/api/tables/${encodeURIComponent(name)}?format=json`);
      out.push(
        h('h3', {}, t.title),
        h('div', { class: 'toolbar' }, ['md', 'csv', 'latex'].map((f) => h('a', { class: 'button', href: `/api/tables/${encodeURIComponent(name)}?format=${f}&download=1`, download: '' }, `Export ${f}`))),
        h('pre', { class: 'block', id: 'table-md' }, t.markdown),
      );
    } catch (e) {
      out.push(showError(e));
    }
  }
  return out;
}

// ------------------------------------------------------------------ size vs accuracy

async function renderScatter(params) {
  const where = params.get('where') ?? '';
  const metric = params.get('metric') ?? 'test_accuracy';
  const input = h('input', { type: 'search', id: 'scatter-filter', value: where, placeholder: 'filter (same grammar as Runs)', size: 50 });
  const metricIn = h('input', { type: 'text', id: 'scatter-metric', value: metric, size: 12, 'aria-label': 'accuracy metric' });
  const apply = h('button', {}, 'Apply');
  apply.addEventListener('click', () => {
    const p = new URLSearchParams();
    if (input.value) p.set('where', input.value);
    if (metricIn.value) p.set('metric', metricIn.value);
    setHashParams('scatter', p);
    renderRouteSoon();
  });
  const q = new URLSearchParams({ metric });
  if (where) q.set('where', where);
  const res = await fetch(`/api/plots/size-accuracy.svg?${q}`);
  let plot;
  if (res.ok) plot = h('div', { class: 'svg-plot', id: 'scatter-plot' }, svgNode(await res.text()));
  else plot = showError(new Error((await res.json().catch(() => ({}))).error ?? `HTTP ${res.status}`));
  return [
    h('h2', {}, 'Model size vs accuracy'),
    h('div', { class: 'toolbar' }, input, metricIn, apply, h('a', { class: 'button', href: `/api/plots/size-accuracy.svg?${q}`, download: 'size-accuracy.svg' }, 'Download SVG')),
    h('p', { class: 'muted' }, 'Done trials with size_bytes and the metric in their summary; seeds averaged per configuration.'),
    plot,
  ];
}

// ------------------------------------------------------------------ routing and refresh

let pending = null;
function renderRouteSoon() {
  clearTimeout(pending);
  pending = setTimeout(() => void renderRoute(), 0);
}

async function renderRoute({ quiet = false } = {}) {
  const { parts, params } = parseHash();
  const name = parts[0];
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === (name === 'run' ? 'runs' : name));
  // Keep the runs filter box (and its focus) when only refreshing.
  const focused = document.activeElement?.id;
  const token = ++state.renders;
  state.mounts = [];
  let content;
  try {
    if (name === 'overview') content = await renderOverview();
    else if (name === 'runs') content = await renderRuns(params);
    else if (name === 'run') content = await renderRun(parts[1] ?? '');
    else if (name === 'curves') content = await renderCurves(params);
    else if (name === 'tables') content = await renderTables(params);
    else if (name === 'scatter') content = await renderScatter(params);
    else content = [h('div', { class: 'error-box' }, h('p', { class: 'error', role: 'alert' }, `unknown view '${name}' (the views: overview, runs, run/ID, curves, tables, scatter)`), wayBack())];
  } catch (e) {
    if (quiet) return;
    content = [showError(e)];
  }
  if (token !== state.renders) return; // a newer render started meanwhile
  const mounts = state.mounts;
  state.mounts = [];
  destroyCharts();
  view.replaceChildren(...content.flat().filter(Boolean));
  view.dataset.view = name;
  for (const mount of mounts) mount();
  if (focused) {
    const el = document.getElementById(focused);
    if (el && 'focus' in el) {
      el.focus();
      if (el.setSelectionRange && typeof el.value === 'string') el.setSelectionRange(el.value.length, el.value.length);
    }
  }
}

async function poll() {
  try {
    const o = await api('/api/overview');
    document.getElementById('db').textContent = o.db;
    const was = state.running;
    state.running = o.totals.running;
    document.getElementById('live-state').textContent = state.running ? `(${state.running} running)` : '(idle)';
    const auto = document.getElementById('autorefresh').checked;
    // Refresh the view while trials run, and once more when the last one stops.
    if (auto && (state.running > 0 || was > 0) && document.activeElement?.id !== 'filter' && !document.querySelector('input[type=checkbox]:focus')) await renderRoute({ quiet: true });
  } catch {
    document.getElementById('live-state').textContent = '(server unreachable)';
  }
}

window.addEventListener('hashchange', () => {
  if (location.hash === state.lastHash) return;
  state.lastHash = location.hash;
  void renderRoute();
});
state.lastHash = location.hash;
void renderRoute();
void poll();
state.timer = setInterval(poll, 5000);
