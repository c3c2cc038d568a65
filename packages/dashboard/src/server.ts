/**
 * The dashboard's HTTP server (node:http, no framework): one static page with vanilla ES
 * modules and uPlot, and a small JSON API over the store opened read-only.
 *
 * Endpoints (GET only):
 *   /                                   the page (public/index.html, app.js, style.css)
 *   /vendor/uPlot.esm.js, uPlot.min.css uPlot, served from node_modules
 *   /api/overview                       status totals, sweeps with progress and running trials
 *   /api/runs?where&sort&desc&limit&offset   a page of trials from the summary table
 *   /api/runs/:ref                      one trial: config, provenance, artifacts, log tail
 *   /api/runs/:id/metrics?keys=a,b      raw per-step curves of one trial (diagnostics)
 *   /api/curves?ids=1,2&key=val_accuracy     seed bands of the selected trials' curves
 *   /api/plots/curves.svg?ids&key[&baseline&baselineLabel]   the same as a reporter SVG
 *   /api/scatter?where&metric&size      size-vs-accuracy points (JSON)
 *   /api/plots/size-accuracy.svg?...    the same as a reporter SVG
 *   /api/tables                         table specs found in the tables folder
 *   /api/tables/:name?format=json|md|csv|latex[&download=1]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '@orthoquant/store';
import type { TableFormat } from '@orthoquant/reporter';
import { curves, curvesSvg, listTables, overview, parseIds, renderPaperTable, RequestError, runDetail, runs, scatterPoints, scatterSvg, trialCurves } from './api.js';

export interface DashboardOptions {
  /** The SQLite file (opened read-only; must exist); default `ORTHOQUANT_DB` or ./orthoquant.db. */
  dbPath?: string | null;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Only loopback addresses are accepted: the dashboard has no authentication. */
  host?: '127.0.0.1' | 'localhost' | '::1';
  /** Folder of table specs (`*.yaml`); default `configs/tables` under the cwd. */
  tablesDir?: string;
}

export interface Dashboard {
  /** `http://127.0.0.1:PORT/` */
  url: string;
  port: number;
  /** Absolute path of the database served. */
  dbPath: string;
  /** Stop serving and close the database. */
  close(): Promise<void>;
}

/** Where the page's files live, next to `src/` and `dist/`. */
export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

const STATIC: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

function vendorFiles(): Record<string, [string, string]> {
  const require = createRequire(import.meta.url);
  return {
    '/vendor/uPlot.esm.js': [require.resolve('uplot/dist/uPlot.esm.js'), 'text/javascript; charset=utf-8'],
    '/vendor/uPlot.min.css': [require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  };
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...SECURITY_HEADERS, ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'Cache-Control': 'no-store' });
}

function flag(v: string | null): boolean {
  return v === '1' || v === 'true';
}

function int(name: string, v: string | null): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new RequestError(`${name}: expected a non-negative integer, got '${v}'`);
  return Number(v);
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RequestError(`malformed URL component '${part}'`);
  }
}

/** Route one request; throws RequestError for the client's mistakes. */
function route(store: Store, tablesDir: string, url: URL, res: ServerResponse, vendor: Record<string, [string, string]>): void {
  const p = url.pathname;
  const q = url.searchParams;
  const stat = STATIC[p];
  if (stat) return send(res, 200, readFileSync(resolve(PUBLIC_DIR, stat[0])), stat[1], { 'Cache-Control': 'no-cache' });
  const ven = vendor[p];
  if (ven) return send(res, 200, readFileSync(ven[0]), ven[1], { 'Cache-Control': 'max-age=3600' });
  if (p === '/api/overview') return json(res, 200, overview(store));
  if (p === '/api/runs') return json(res, 200, runs(store, { where: q.get('where') ?? undefined, sort: q.get('sort') ?? undefined, desc: flag(q.get('desc')), limit: int('limit', q.get('limit')), offset: int('offset', q.get('offset')) }));
  let m = /^\/api\/runs\/(\d+)\/metrics$/.exec(p);
  if (m) {
    const keys = (q.get('keys') ?? '').split(',').filter(Boolean);
    if (keys.length === 0) throw new RequestError(`keys: expected a comma-separated list of metric keys, got nothing`);
    return json(res, 200, { trialId: Number(m[1]), curves: trialCurves(store, Number(m[1]), keys) });
  }
  m = /^\/api\/runs\/([^/]+)$/.exec(p);
  if (m) return json(res, 200, runDetail(store, decode(m[1])));
  if (p === '/api/curves') return json(res, 200, curves(store, parseIds(q.get('ids')), q.get('key') ?? undefined));
  if (p === '/api/plots/curves.svg') {
    const base = q.get('baseline');
    const value = base === null || base === '' ? null : Number(base);
    if (value !== null && !Number.isFinite(value)) throw new RequestError(`baseline: expected a number, got '${base}'`);
    const svg = curvesSvg(store, parseIds(q.get('ids')), q.get('key') ?? undefined, value === null ? undefined : { value, label: q.get('baselineLabel') || 'baseline' });
    return send(res, 200, svg, 'image/svg+xml; charset=utf-8', { 'Cache-Control': 'no-store' });
  }
  const scatterQ = { where: q.get('where') ?? undefined, metric: q.get('metric') ?? undefined, size: q.get('size') ?? undefined };
  if (p === '/api/scatter') return json(res, 200, scatterPoints(store, scatterQ));
  if (p === '/api/plots/size-accuracy.svg') return send(res, 200, scatterSvg(store, scatterQ), 'image/svg+xml; charset=utf-8', { 'Cache-Control': 'no-store' });
  if (p === '/api/tables') return json(res, 200, { dir: tablesDir, tables: listTables(tablesDir) });
  m = /^\/api\/tables\/([^/]+)$/.exec(p);
  if (m) {
    const out = renderPaperTable(store, tablesDir, decode(m[1]), (q.get('format') ?? 'json') as TableFormat | 'json');
    const extra: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (flag(q.get('download'))) extra['Content-Disposition'] = `attachment; filename="${out.filename}"`;
    return send(res, 200, out.text, out.contentType, extra);
  }
  throw new RequestError(`no such page or endpoint: ${p}`, 404);
}

/**
 * Serve the dashboard for one database on 127.0.0.1 (read-only store, GET only, Host header
 * checked against loopback names so another site cannot reach it by DNS rebinding).
 */
export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const host = opts.host ?? '127.0.0.1';
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) throw new Error(`dashboard: host must be a loopback address (127.0.0.1, localhost or ::1), got '${host}'`);
  const port = opts.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`dashboard: port must be an integer in 0..65535, got ${port}`);
  const tablesDir = resolve(opts.tablesDir ?? 'configs/tables');
  const store = openStore(opts.dbPath, { readonly: true });
  const vendor = vendorFiles();
  let allowedHosts: Set<string> = new Set();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    try {
      if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) return json(res, 403, { error: `dashboard: unexpected Host header '${req.headers.host ?? ''}' (open it as http://127.0.0.1:<port>/)` });
      if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: `dashboard: method ${req.method} not allowed (read-only)` });
      route(store, tablesDir, new URL(req.url ?? '/', 'http://127.0.0.1'), res, vendor);
    } catch (e) {
      if (e instanceof RequestError) return json(res, e.status, { error: e.message, ...e.detail });
      json(res, 500, { error: `dashboard: ${(e as Error).message}` });
    }
  });
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(port, host, () => {
        server.off('error', fail);
        ok();
      });
    });
  } catch (e) {
    store.close();
    throw new Error(`dashboard: cannot listen on ${host}:${port}: ${(e as Error).message}`);
  }
  const actual = (server.address() as { port: number }).port;
  allowedHosts = new Set([`127.0.0.1:${actual}`, `localhost:${actual}`, `[::1]:${actual}`]);
  const urlHost = host === '::1' ? '[::1]' : host;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${urlHost}:${actual}/`,
    port: actual,
    dbPath: store.path,
    close() {
      closed ??= new Promise<void>((ok) => {
        server.close(() => {
          store.close();
          ok();
        });
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * What `orthoquant dashboard` runs: start, print the URL, stop on SIGINT/SIGTERM.
 * Resolves once the server is closed.
 */
export async function serveDashboard(opts: DashboardOptions, print: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const d = await startDashboard(opts);
  print(`dashboard: ${d.url} (database ${d.dbPath}, read-only; Ctrl-C to stop)`);
  await new Promise<void>((ok) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void d.close().then(ok);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
