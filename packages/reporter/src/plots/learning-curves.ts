/**
 * Learning curves: a metric against the training step for several configurations, each drawn
 * as the mean over its seeds with a band of ± one standard deviation, plus an optional
 * horizontal reference line (the copy task's memoryless baseline).
 */
import { axes, colorAt, coord, escapeXml, frame, legend, linePath, linearScale, logScale, noDataSvg, open, type LegendEntry, type PlotOptions } from './svg.js';

/** One run's curve: parallel arrays, `null` where the value was NaN / missing. */
export interface CurveRun {
  steps: readonly number[];
  values: readonly (number | null)[];
}

/** Mean and sample standard deviation across runs at every step any run has. */
export interface SeedBand {
  steps: number[];
  mean: number[];
  std: number[];
  /** How many runs had a finite value at that step. */
  n: number[];
  /** The smallest and largest run value at that step: the band never leaves them. */
  min: number[];
  max: number[];
}

/**
 * Aggregate the seeds of one configuration step by step:
 * - mean_s = (1/n_s) Σ v_{r,s} over the runs r with a finite value at step s;
 * - std_s = sqrt(Σ (v_{r,s} − mean_s)² / (n_s − 1)), 0 when n_s = 1.
 * Steps are the sorted union of the runs' steps. The band drawn is mean ± std clipped to the
 * runs' own range at that step (`bandLow`, `bandHigh`): a loss band never goes below zero.
 */
export function seedBand(runs: readonly CurveRun[]): SeedBand {
  const acc = new Map<number, number[]>();
  for (const r of runs) {
    if (r.steps.length !== r.values.length) throw new Error(`seedBand: steps and values differ in length (${r.steps.length} vs ${r.values.length})`);
    for (let i = 0; i < r.steps.length; i++) {
      const v = r.values[i];
      if (v === null || !Number.isFinite(v)) continue;
      const list = acc.get(r.steps[i]);
      if (list) list.push(v);
      else acc.set(r.steps[i], [v]);
    }
  }
  const steps = [...acc.keys()].sort((a, b) => a - b);
  const out: SeedBand = { steps, mean: [], std: [], n: [], min: [], max: [] };
  for (const s of steps) {
    const vs = acc.get(s)!;
    const m = vs.reduce((a, b) => a + b, 0) / vs.length;
    const sd = vs.length > 1 ? Math.sqrt(vs.reduce((a, b) => a + (b - m) ** 2, 0) / (vs.length - 1)) : 0;
    out.mean.push(m);
    out.std.push(sd);
    out.n.push(vs.length);
    out.min.push(Math.min(...vs));
    out.max.push(Math.max(...vs));
  }
  return out;
}

/** Lower edge of the band at step index i: mean − std, but never below the smallest run value. */
export function bandLow(b: SeedBand, i: number): number {
  return Math.max(b.mean[i] - b.std[i], b.min[i]);
}

/** Upper edge of the band at step index i: mean + std, but never above the largest run value. */
export function bandHigh(b: SeedBand, i: number): number {
  return Math.min(b.mean[i] + b.std[i], b.max[i]);
}

/** Metrics drawn on a log axis by default: losses, bits per character, perplexities. */
export function isLossLike(key: string | undefined): boolean {
  return key !== undefined && /(^|[_\s-])(loss|bpc|perplexity|ppl)($|[_\s-])/i.test(key);
}

export interface CurveSeries {
  /** Legend text (e.g. "HadamRNN 4-bit"). */
  label: string;
  /** The seeds of this configuration; one run draws a plain line. */
  runs: readonly CurveRun[];
}

export interface LearningCurvesOptions extends PlotOptions {
  series: readonly CurveSeries[];
  /** A horizontal reference, e.g. the memoryless baseline of the copy task. */
  reference?: { value: number; label: string };
  logY?: boolean;
  /** Longest curve drawn; longer ones are thinned evenly (the last point is kept). */
  maxPoints?: number;
}

function thin<T>(xs: readonly T[], max: number): number[] {
  const idx: number[] = [];
  if (xs.length <= max) return xs.map((_, i) => i);
  const stride = (xs.length - 1) / (max - 1);
  for (let k = 0; k < max; k++) idx.push(Math.round(k * stride));
  return idx;
}

/** Learning curves as an SVG string (see the module comment). */
export function learningCurvesSvg(opts: LearningCurvesOptions): string {
  const maxPoints = opts.maxPoints ?? 800;
  const bands = opts.series.map((s) => ({ label: s.label, band: seedBand(s.runs), seeds: s.runs.length }));
  const drawn = bands.filter((b) => b.band.steps.length > 0);
  const title = opts.title ?? 'Learning curves';
  if (drawn.length === 0) return noDataSvg({ ...opts, title }, opts.series.length ? 'no finite values to plot' : 'no data');
  let xmin = Infinity;
  let xmax = -Infinity;
  let ymin = Infinity;
  let ymax = -Infinity;
  for (const { band } of drawn) {
    xmin = Math.min(xmin, band.steps[0]);
    xmax = Math.max(xmax, band.steps[band.steps.length - 1]);
    band.mean.forEach((_, i) => {
      ymin = Math.min(ymin, bandLow(band, i));
      ymax = Math.max(ymax, bandHigh(band, i));
    });
  }
  if (opts.reference && Number.isFinite(opts.reference.value)) {
    ymin = Math.min(ymin, opts.reference.value);
    ymax = Math.max(ymax, opts.reference.value);
  }
  const logY = opts.logY === true;
  if (logY) {
    let pos = Infinity;
    for (const { band } of drawn) for (const m of band.mean) if (m > 0) pos = Math.min(pos, m);
    if (!Number.isFinite(pos)) throw new Error('learningCurvesSvg: logY needs positive values, got none');
    ymin = Math.max(ymin, pos / 2);
  }
  const legendLabels = [...drawn.map((d) => (d.seeds > 1 ? `${d.label} (n=${d.seeds})` : d.label)), ...(opts.reference ? [opts.reference.label] : [])];
  const f = frame({ ...opts, title }, `${title}|${opts.series.map((s) => s.label).join('|')}`, legendLabels);
  const x = linearScale(xmin, xmax, f.left, f.right, 6);
  const y = logY ? logScale(ymin, ymax, f.bottom, f.top) : linearScale(ymin, ymax, f.bottom, f.top, 6);
  const clampY = (v: number) => (logY ? y(Math.max(v, y.domain[0])) : y(v));
  const desc =
    opts.description ??
    `${opts.yLabel ?? 'Metric'} against ${opts.xLabel ?? 'step'} for ${drawn.length} configuration${drawn.length === 1 ? '' : 's'} (${drawn.map((d) => `${d.label}: ${d.seeds} run${d.seeds === 1 ? '' : 's'}`).join('; ')}); bands are mean ± one standard deviation across seeds.` +
      (opts.reference ? ` Reference line: ${opts.reference.label} at ${opts.reference.value}.` : '');
  let svg = open(f, title, desc, 'learning-curves') + axes(f, x, y, { ...opts, title, xLabel: opts.xLabel ?? 'step' });
  svg += `<defs><clipPath id="${f.id}-clip"><rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}"/></clipPath></defs>\n`;
  svg += `<g class="plot-area" clip-path="url(#${f.id}-clip)">\n`;
  const entries: LegendEntry[] = [];
  bands.forEach(({ label, band, seeds }, i) => {
    if (band.steps.length === 0) return;
    const color = colorAt(i);
    const idx = thin(band.steps, maxPoints);
    svg += `<g class="series" data-label="${escapeXml(label)}" data-runs="${seeds}" data-points="${band.steps.length}">\n`;
    if (band.std.some((s) => s > 0)) {
      const upper = idx.map((k) => `${coord(x(band.steps[k]))} ${coord(clampY(bandHigh(band, k)))}`);
      const lower = idx.map((k) => `${coord(x(band.steps[k]))} ${coord(clampY(bandLow(band, k)))}`).reverse();
      svg += `<path class="band" d="M${upper.join('L')}L${lower.join('L')}Z" fill="${color}" fill-opacity="0.18" stroke="none"/>\n`;
    }
    svg += `<path class="line" d="${linePath(idx.map((k) => [x(band.steps[k]), clampY(band.mean[k])]))}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"/>\n`;
    // a curve of one point (a metric recorded once) is a marker, not an invisible line
    if (idx.length === 1) svg += `<circle class="point" cx="${coord(x(band.steps[idx[0]]))}" cy="${coord(clampY(band.mean[idx[0]]))}" r="4" fill="${color}"/>\n`;
    svg += `</g>\n`;
    entries.push({ label: seeds > 1 ? `${label} (n=${seeds})` : label, color });
  });
  if (opts.reference && Number.isFinite(opts.reference.value)) {
    const py = coord(clampY(opts.reference.value));
    // labelled in the legend (and the line's tooltip), never in text drawn over the curves
    svg += `<g class="reference" data-value="${opts.reference.value}"><title>${escapeXml(opts.reference.label)} (${opts.reference.value})</title><line x1="${f.left}" x2="${f.right}" y1="${py}" y2="${py}" stroke="#6b7280" stroke-width="1.5" stroke-dasharray="6 4"/></g>\n`;
    entries.push({ label: opts.reference.label, color: '#6b7280', dashed: true });
  }
  svg += `</g>\n`;
  return svg + legend(f, entries) + '</svg>\n';
}
