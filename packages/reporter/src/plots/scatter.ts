/**
 * Model size against accuracy (the plane of HadamRNN's Figure 1): size in bytes on a log x
 * axis, accuracy on y, one colour and marker per model family, each point labelled.
 * And accuracy against bit width: one line per model family, error bars of ± one std.
 */
import { axes, colorAt, coord, escapeXml, frame, legend, linePath, linearScale, logScale, marker, MARKERS, noDataSvg, open, type LegendEntry, type PlotOptions } from './svg.js';

export interface SizePoint {
  /** Model family (legend entry: colour and marker), e.g. "HadamRNN". */
  family: string;
  /** Text next to the marker, e.g. "4-bit"; none if absent. */
  label?: string;
  sizeBytes: number;
  accuracy: number;
}

export interface SizeAccuracyOptions extends PlotOptions {
  points: readonly SizePoint[];
}

/** Widen [lo, hi] by 4 % each side so no marker sits on the frame. */
function padded(lo: number, hi: number): [number, number] {
  const pad = (hi - lo) * 0.04;
  return [lo - pad, hi + pad];
}

function families<T extends { family: string }>(items: readonly T[]): string[] {
  const seen: string[] = [];
  for (const p of items) if (!seen.includes(p.family)) seen.push(p.family);
  return seen;
}

/** Size-vs-accuracy scatter as an SVG string; points with a non-positive size are dropped (log axis). */
export function sizeAccuracySvg(opts: SizeAccuracyOptions): string {
  const title = opts.title ?? 'Model size vs accuracy';
  const pts = opts.points.filter((p) => p.sizeBytes > 0 && Number.isFinite(p.sizeBytes) && Number.isFinite(p.accuracy));
  if (pts.length === 0) return noDataSvg({ ...opts, title }, opts.points.length ? 'no point with a positive size and a finite accuracy' : 'no data');
  const fams = families(pts);
  const f = frame({ ...opts, title }, `${title}|${fams.join('|')}|${pts.length}`, fams);
  const x = logScale(Math.min(...pts.map((p) => p.sizeBytes)), Math.max(...pts.map((p) => p.sizeBytes)), f.left, f.right);
  const [ylo, yhi] = padded(Math.min(...pts.map((p) => p.accuracy)), Math.max(...pts.map((p) => p.accuracy)));
  const y = linearScale(ylo, yhi, f.bottom, f.top, 6);
  const desc = opts.description ?? `${pts.length} model${pts.length === 1 ? '' : 's'} of ${fams.length} famil${fams.length === 1 ? 'y' : 'ies'} (${fams.join(', ')}): size in bytes on a logarithmic axis against ${opts.yLabel ?? 'accuracy'}.`;
  let svg = open(f, title, desc, 'size-accuracy') + axes(f, x, y, { ...opts, title, xLabel: opts.xLabel ?? 'model size (bytes, log scale)', yLabel: opts.yLabel ?? 'accuracy' });
  const entries: LegendEntry[] = [];
  fams.forEach((fam, i) => {
    const color = colorAt(i);
    const mk = MARKERS[i % MARKERS.length];
    const mine = pts.filter((p) => p.family === fam);
    svg += `<g class="series" data-label="${escapeXml(fam)}" data-points="${mine.length}">\n`;
    for (const p of mine) {
      const px = x(p.sizeBytes);
      const py = y(p.accuracy);
      svg += `<g class="point" data-size="${p.sizeBytes}" data-accuracy="${p.accuracy}"><title>${escapeXml(`${fam}${p.label ? ` ${p.label}` : ''}: ${p.sizeBytes} bytes, ${p.accuracy}`)}</title>${marker(mk, px, py, color, 5.5)}`;
      if (p.label) svg += `<text class="point-label" x="${coord(px + 8)}" y="${coord(py - 8)}" fill="#1f2937" font-size="11">${escapeXml(p.label)}</text>`;
      svg += `</g>\n`;
    }
    svg += `</g>\n`;
    entries.push({ label: fam, color, line: false, marker: mk });
  });
  return svg + legend(f, entries) + '</svg>\n';
}

export interface BitsPoint {
  /** Weight bit width (use e.g. 32 for the full-precision model). */
  bits: number;
  accuracy: number;
  /** Spread across seeds; draws an error bar. */
  std?: number | null;
}

export interface BitsAccuracyOptions extends PlotOptions {
  series: readonly { family: string; points: readonly BitsPoint[] }[];
}

/** Accuracy against bit width as an SVG string: one line per family, sorted by bits. */
export function bitsAccuracySvg(opts: BitsAccuracyOptions): string {
  const title = opts.title ?? 'Bit width vs accuracy';
  const series = opts.series
    .map((s) => ({ family: s.family, points: s.points.filter((p) => Number.isFinite(p.bits) && Number.isFinite(p.accuracy)).sort((a, b) => a.bits - b.bits) }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) return noDataSvg({ ...opts, title }, 'no data');
  const all = series.flatMap((s) => s.points);
  const err = (p: BitsPoint) => (p.std && Number.isFinite(p.std) ? p.std : 0);
  const f = frame({ ...opts, title }, `${title}|${series.map((s) => s.family).join('|')}`, series.map((s) => s.family));
  const [xlo, xhi] = padded(Math.min(...all.map((p) => p.bits)), Math.max(...all.map((p) => p.bits)));
  const x = linearScale(xlo, xhi, f.left, f.right, Math.min(8, new Set(all.map((p) => p.bits)).size + 1));
  const [ylo, yhi] = padded(Math.min(...all.map((p) => p.accuracy - err(p))), Math.max(...all.map((p) => p.accuracy + err(p))));
  const y = linearScale(ylo, yhi, f.bottom, f.top, 6);
  const desc = opts.description ?? `${opts.yLabel ?? 'Accuracy'} against weight bit width for ${series.map((s) => `${s.family} (${s.points.length} point${s.points.length === 1 ? '' : 's'})`).join(', ')}.`;
  let svg = open(f, title, desc, 'bits-accuracy') + axes(f, x, y, { ...opts, title, xLabel: opts.xLabel ?? 'weight bits', yLabel: opts.yLabel ?? 'accuracy' });
  const entries: LegendEntry[] = [];
  series.forEach((s, i) => {
    const color = colorAt(i);
    const mk = MARKERS[i % MARKERS.length];
    svg += `<g class="series" data-label="${escapeXml(s.family)}" data-points="${s.points.length}">\n`;
    svg += `<path class="line" d="${linePath(s.points.map((p) => [x(p.bits), y(p.accuracy)]))}" fill="none" stroke="${color}" stroke-width="2"/>\n`;
    for (const p of s.points) {
      const px = coord(x(p.bits));
      if (err(p) > 0) svg += `<line class="error-bar" x1="${px}" x2="${px}" y1="${coord(y(p.accuracy - err(p)))}" y2="${coord(y(p.accuracy + err(p)))}" stroke="${color}" stroke-width="1.5"/>`;
      svg += `<g class="point" data-bits="${p.bits}" data-accuracy="${p.accuracy}"><title>${escapeXml(`${s.family}, ${p.bits} bits: ${p.accuracy}${err(p) ? ` ± ${err(p)}` : ''}`)}</title>${marker(mk, x(p.bits), y(p.accuracy), color, 5)}</g>\n`;
    }
    svg += `</g>\n`;
    entries.push({ label: s.family, color, marker: mk });
  });
  return svg + legend(f, entries) + '</svg>\n';
}
