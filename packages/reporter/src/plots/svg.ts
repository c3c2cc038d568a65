/**
 * The small kit every SVG plot shares: escaping, number formatting, axis ticks (linear and
 * log), a plotting frame (axes, grid, title, legend) and the "no data" placeholder.
 *
 * Pure string building: no DOM, so plots render the same in the CLI, in tests and in the
 * dashboard.
 */

/** Escape text for an SVG text node or a double-quoted attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A coordinate with at most two decimals (keeps the files small and diffable). */
export function coord(v: number): string {
  const r = Math.round(v * 100) / 100;
  return Object.is(r, -0) ? '0' : String(r);
}

/** Colour-blind-safe palette (Okabe–Ito, black moved last). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#F0E442', '#000000'];

export function colorAt(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/**
 * "Nice" linear ticks covering [min, max]: a step of 1, 2, 2.5 or 5 × 10^k chosen so that
 * about `target` ticks fall in the range; the returned domain is widened to whole steps.
 */
export function niceTicks(min: number, max: number, target = 5): { ticks: number[]; domain: [number, number]; step: number } {
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error(`niceTicks: expected finite bounds, got [${min}, ${max}]`);
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, target - 1);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * 0.999) ?? 10 * mag;
  const lo = Math.floor(min / step + 1e-9) * step;
  const hi = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 2);
  for (let v = lo; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(digits)));
  return { ticks, domain: [lo, hi], step };
}

/**
 * Ticks of a log10 axis over [min, max] (both > 0): every decade, plus 2× and 5× when the
 * range spans fewer than three decades. The domain is widened to whole decades.
 */
export function logTicks(min: number, max: number): { ticks: number[]; domain: [number, number] } {
  if (!(min > 0) || !(max > 0) || !Number.isFinite(min) || !Number.isFinite(max)) throw new Error(`logTicks: expected positive finite bounds, got [${min}, ${max}]`);
  if (min > max) [min, max] = [max, min];
  let lo = Math.floor(Math.log10(min) + 1e-9);
  let hi = Math.ceil(Math.log10(max) - 1e-9);
  if (lo === hi) {
    lo -= 0;
    hi += 1;
  }
  const ticks: number[] = [];
  const dense = hi - lo < 3;
  for (let k = lo; k <= hi; k++) {
    const d = 10 ** k;
    ticks.push(d);
    if (dense && k < hi) ticks.push(2 * d, 5 * d);
  }
  return { ticks: ticks.map((t) => Number(t.toPrecision(12))), domain: [10 ** lo, 10 ** hi] };
}

/** 1500 → "1.5k", 2e6 → "2M", 0.25 → "0.25": short labels for ticks. */
export function formatSi(v: number): string {
  const a = Math.abs(v);
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [f, u] of units) if (a >= f) return `${trim(v / f)}${u}`;
  return trim(v);
}

/** A short label for a linear tick (no float noise: 0.30000000000000004 → 0.3). */
export function formatTick(v: number): string {
  if (Math.abs(v) >= 1e4) return formatSi(v);
  return trim(v);
}

function trim(v: number): string {
  return String(Number(v.toPrecision(6)));
}

export interface Scale {
  /** Data value → pixel. */
  (v: number): number;
  ticks: number[];
  domain: [number, number];
  log: boolean;
}

export function linearScale(min: number, max: number, pxFrom: number, pxTo: number, target = 5): Scale {
  const { ticks, domain } = niceTicks(min, max, target);
  const f = ((v: number) => pxFrom + ((v - domain[0]) / (domain[1] - domain[0])) * (pxTo - pxFrom)) as Scale;
  return Object.assign(f, { ticks, domain, log: false });
}

export function logScale(min: number, max: number, pxFrom: number, pxTo: number): Scale {
  const { ticks, domain } = logTicks(min, max);
  const l0 = Math.log10(domain[0]);
  const l1 = Math.log10(domain[1]);
  const f = ((v: number) => pxFrom + ((Math.log10(v) - l0) / (l1 - l0)) * (pxTo - pxFrom)) as Scale;
  return Object.assign(f, { ticks, domain, log: true });
}

/** Options every plot takes. */
export interface PlotOptions {
  title?: string;
  /** A longer description for screen readers (`<desc>`); a summary is generated if absent. */
  description?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
}

export interface Frame {
  width: number;
  height: number;
  /** Plot area in pixels. */
  left: number;
  right: number;
  top: number;
  bottom: number;
  id: string;
  /** Longest legend label that fits (characters). */
  legendChars: number;
}

/** Average advance of a 12 px sans-serif character, for sizing the legend. */
const CHAR_PX = 7.2;

/**
 * The plot area: a fixed left margin for y labels, and on the right a legend column as wide
 * as its longest label needs, up to 40 % of the width (longer labels are clipped with "…").
 */
export function frame(opts: PlotOptions, idSeed: string, legendLabels: readonly string[] | null): Frame {
  const width = opts.width ?? 720;
  const height = opts.height ?? 420;
  if (!(width >= 200) || !(height >= 150)) throw new Error(`plot: expected width ≥ 200 and height ≥ 150, got ${width}×${height}`);
  let legendPx = 24;
  let legendChars = 0;
  if (legendLabels && legendLabels.length) {
    const longest = Math.max(...legendLabels.map((l) => l.length));
    legendPx = Math.min(Math.round(width * 0.4), Math.max(130, Math.ceil(52 + longest * CHAR_PX)));
    legendChars = Math.max(4, Math.floor((legendPx - 52) / CHAR_PX));
  }
  return { width, height, left: 70, right: width - legendPx, top: opts.title ? 44 : 20, bottom: height - 54, id: `oq-${hashId(idSeed)}`, legendChars };
}

/** A short stable id from text, so two plots in one page do not share `<title>` ids. */
export function hashId(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}

/** `<svg>` opening with the accessible name and description, plus a white background. */
export function open(f: Frame, title: string, desc: string, kind: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" role="img" aria-labelledby="${f.id}-title ${f.id}-desc" class="oq-plot oq-${kind}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">\n` +
    `<title id="${f.id}-title">${escapeXml(title)}</title>\n<desc id="${f.id}-desc">${escapeXml(desc)}</desc>\n` +
    `<rect class="background" x="0" y="0" width="${f.width}" height="${f.height}" fill="#ffffff"/>\n`
  );
}

/** Title, grid, axes with ticks and labels. */
export function axes(f: Frame, x: Scale, y: Scale, opts: PlotOptions, fmtX: (v: number) => string = x.log ? formatSi : formatTick, fmtY: (v: number) => string = y.log ? formatSi : formatTick): string {
  const out: string[] = [];
  if (opts.title) out.push(`<text class="plot-title" x="${coord((f.left + f.right) / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(opts.title)}</text>`);
  out.push(`<g class="grid" stroke="#e5e7eb" stroke-width="1">`);
  for (const t of y.ticks) out.push(`<line x1="${f.left}" x2="${f.right}" y1="${coord(y(t))}" y2="${coord(y(t))}"/>`);
  for (const t of x.ticks) out.push(`<line x1="${coord(x(t))}" x2="${coord(x(t))}" y1="${f.top}" y2="${f.bottom}"/>`);
  out.push(`</g>`);
  out.push(`<g class="axis x-axis" data-scale="${x.log ? 'log' : 'linear'}">`);
  out.push(`<line x1="${f.left}" x2="${f.right}" y1="${f.bottom}" y2="${f.bottom}" stroke="#374151"/>`);
  for (const t of x.ticks) {
    const px = coord(x(t));
    out.push(`<g class="tick" data-value="${t}"><line x1="${px}" x2="${px}" y1="${f.bottom}" y2="${f.bottom + 5}" stroke="#374151"/><text x="${px}" y="${f.bottom + 18}" text-anchor="middle" fill="#374151">${escapeXml(fmtX(t))}</text></g>`);
  }
  if (opts.xLabel) out.push(`<text class="axis-label" x="${coord((f.left + f.right) / 2)}" y="${f.height - 12}" text-anchor="middle" fill="#111827">${escapeXml(opts.xLabel)}</text>`);
  out.push(`</g>`);
  out.push(`<g class="axis y-axis" data-scale="${y.log ? 'log' : 'linear'}">`);
  out.push(`<line x1="${f.left}" x2="${f.left}" y1="${f.top}" y2="${f.bottom}" stroke="#374151"/>`);
  for (const t of y.ticks) {
    const py = coord(y(t));
    out.push(`<g class="tick" data-value="${t}"><line x1="${f.left - 5}" x2="${f.left}" y1="${py}" y2="${py}" stroke="#374151"/><text x="${f.left - 8}" y="${py}" dy="0.32em" text-anchor="end" fill="#374151">${escapeXml(fmtY(t))}</text></g>`);
  }
  if (opts.yLabel) out.push(`<text class="axis-label" transform="translate(16 ${coord((f.top + f.bottom) / 2)}) rotate(-90)" text-anchor="middle" fill="#111827">${escapeXml(opts.yLabel)}</text>`);
  out.push(`</g>`);
  return out.join('\n') + '\n';
}

export type Marker = 'circle' | 'square' | 'triangle' | 'diamond' | 'cross' | 'star';
export const MARKERS: readonly Marker[] = ['circle', 'square', 'triangle', 'diamond', 'cross', 'star'];

/** One marker shape centred on (x, y). */
export function marker(kind: Marker, x: number, y: number, color: string, r = 5, extra = ''): string {
  const X = coord(x);
  const Y = coord(y);
  const attrs = `fill="${color}" stroke="#ffffff" stroke-width="1"${extra}`;
  switch (kind) {
    case 'circle':
      return `<circle cx="${X}" cy="${Y}" r="${r}" ${attrs}/>`;
    case 'square':
      return `<rect x="${coord(x - r)}" y="${coord(y - r)}" width="${2 * r}" height="${2 * r}" ${attrs}/>`;
    case 'triangle':
      return `<path d="M${X} ${coord(y - r * 1.15)}L${coord(x + r)} ${coord(y + r * 0.85)}L${coord(x - r)} ${coord(y + r * 0.85)}Z" ${attrs}/>`;
    case 'diamond':
      return `<path d="M${X} ${coord(y - r * 1.2)}L${coord(x + r)} ${Y}L${X} ${coord(y + r * 1.2)}L${coord(x - r)} ${Y}Z" ${attrs}/>`;
    case 'cross':
      return `<path d="M${coord(x - r)} ${coord(y - r)}L${coord(x + r)} ${coord(y + r)}M${coord(x - r)} ${coord(y + r)}L${coord(x + r)} ${coord(y - r)}" fill="none" stroke="${color}" stroke-width="2.5"${extra}/>`;
    case 'star': {
      const pts: string[] = [];
      for (let i = 0; i < 10; i++) {
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        const rr = i % 2 ? r * 0.5 : r * 1.25;
        pts.push(`${coord(x + rr * Math.cos(a))} ${coord(y + rr * Math.sin(a))}`);
      }
      return `<path d="M${pts.join('L')}Z" ${attrs}/>`;
    }
  }
}

export interface LegendEntry {
  label: string;
  color: string;
  /** Line swatch (default), marker, or both. */
  line?: boolean;
  dashed?: boolean;
  marker?: Marker;
}

export function legend(f: Frame, entries: readonly LegendEntry[]): string {
  if (entries.length === 0) return '';
  const x = f.right + 16;
  const out = [`<g class="legend" font-size="12">`];
  entries.forEach((e, i) => {
    const y = f.top + 8 + i * 20;
    out.push(`<g class="legend-item">`);
    if (e.line !== false) out.push(`<line x1="${x}" x2="${x + 22}" y1="${y}" y2="${y}" stroke="${e.color}" stroke-width="2.5"${e.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (e.marker) out.push(marker(e.marker, x + 11, y, e.color, 4.5));
    out.push(`<text x="${x + 28}" y="${y}" dy="0.32em" fill="#111827">${escapeXml(clip(e.label, f.legendChars || 22))}</text></g>`);
  });
  out.push(`</g>`);
  return out.join('\n') + '\n';
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** The placeholder for a plot with nothing to show: says so in its title and body. */
export function noDataSvg(opts: PlotOptions = {}, reason = 'no data'): string {
  const f = frame(opts, `${opts.title ?? ''}|nodata`, null);
  const title = opts.title ? `${opts.title}: ${reason}` : reason;
  return (
    open(f, title, opts.description ?? `Nothing to plot: ${reason}.`, 'no-data') +
    `<rect x="${f.left}" y="${f.top}" width="${f.right - f.left}" height="${f.bottom - f.top}" fill="#f9fafb" stroke="#d1d5db" stroke-dasharray="4 4"/>\n` +
    (opts.title ? `<text class="plot-title" x="${coord(f.width / 2)}" y="24" text-anchor="middle" font-size="15" font-weight="600">${escapeXml(opts.title)}</text>\n` : '') +
    `<text class="no-data" x="${coord((f.left + f.right) / 2)}" y="${coord((f.top + f.bottom) / 2)}" text-anchor="middle" font-size="16" fill="#6b7280">${escapeXml(reason)}</text>\n</svg>\n`
  );
}

/** Path through points, starting a new sub-path after every gap (null). */
export function linePath(points: readonly ([number, number] | null)[]): string {
  let d = '';
  let pen = false;
  for (const p of points) {
    if (!p) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${coord(p[0])} ${coord(p[1])}`;
    pen = true;
  }
  return d;
}
