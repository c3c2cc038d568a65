/**
 * @orthoquant/reporter — the papers' tables regenerated from recorded trials.
 *
 * ```ts
 * const spec = loadTableSpec('configs/tables/quickstart.yaml');
 * const table = buildTable(spec, trials, loadPublished('configs/published/quickstart.yaml'));
 * console.log(renderTable(table, 'md'));
 * ```
 * Pure: it takes trial records (config + summary) and returns text; the CLI fetches them.
 */
export { tableSpecSchema, parseTableSpec, loadTableSpec, resolveRows } from './spec.js';
export type { TableSpec, RowSpec, ColumnSpec, ResolvedRow, Where } from './spec.js';
export { parsePublished, loadPublished, publishedSchema } from './published.js';
export type { Published } from './published.js';
export { buildTable, matches } from './table.js';
export type { TrialRecord, Table, Cell } from './table.js';
export { renderTable, renderMarkdown, renderCsv, renderLatex, cellText, csvField, TABLE_FORMATS } from './render.js';
export type { TableFormat } from './render.js';
export { learningCurvesSvg, seedBand, bandLow, bandHigh, isLossLike } from './plots/learning-curves.js';
export type { CurveRun, CurveSeries, SeedBand, LearningCurvesOptions } from './plots/learning-curves.js';
export { sizeAccuracySvg, bitsAccuracySvg } from './plots/scatter.js';
export type { SizePoint, SizeAccuracyOptions, BitsPoint, BitsAccuracyOptions } from './plots/scatter.js';
export { niceTicks, logTicks, formatSi, escapeXml, noDataSvg, PALETTE } from './plots/svg.js';
export type { PlotOptions } from './plots/svg.js';
export { tableFromStore, trialRecords, publishedFileFor } from './from-store.js';
export { exportResults, readSummary, summaryCsv, writeResultRows, writeResultsIndex, RESULTS_FORMAT } from './results/export.js';
export type { ExportResultsOptions, ExportedSweep } from './results/export.js';
export { resultRows, labelTrials, modelLabel, PER_STEP_KEYS } from './results/rows.js';
export type { ResultRow, ResultBudget, TrialPlan } from './results/rows.js';
export { curvePoints, thinCurve, thinningStride } from './results/curves.js';
export type { CurvePoint, Thinning } from './results/curves.js';
export { formatValue, budgetText, hoursText } from './results/format.js';
export { parseRule, evaluateRule } from './reproduction/rule.js';
export type { Rule } from './reproduction/rule.js';
export { parseClaims, loadClaims, claimsFileSchema } from './reproduction/claims.js';
export type { Claim, ClaimsFile } from './reproduction/claims.js';
export { assessClaim, renderReproduction } from './reproduction/document.js';
export type { Assessment, TrialOutcome, Verdict } from './reproduction/document.js';
