/**
 * @orthoquant/dashboard — a local web page over the experiment store: sweeps overview, runs
 * table (the CLI's filter grammar), run detail with curves and log tail, seed-band curves of
 * selected runs, paper tables with exports, diagnostics, size-vs-accuracy scatter.
 *
 * ```ts
 * await serveDashboard({ dbPath: argv.db, port: argv.port ?? DEFAULT_PORT }); // orthoquant dashboard
 * const d = await startDashboard({ dbPath, port: 0 }); // tests: d.url, await d.close()
 * ```
 */
export { startDashboard, serveDashboard, PUBLIC_DIR } from './server.js';
export type { Dashboard, DashboardOptions } from './server.js';
export { DEFAULT_PORT } from './defaults.js';
export { overview, runs, runDetail, curves, curvesSvg, defaultCurveKey, scatterPoints, scatterSvg, listTables, renderPaperTable, seedlessKey, configLabel, RequestError } from './api.js';
export type { Overview, RunsQuery, RunsPage, RunDetail, CurvesAnswer, CurveGroup, ScatterPoint, ScatterQuery, TableEntry } from './api.js';
