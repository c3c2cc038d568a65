/**
 * PTQ settings from a config record (a sweep's `ptq:` block, CLI flags), validated with
 * errors that name the key path.
 */
import { InputError } from '@orthoquant/runtime';
import type { CalibrationStatistic } from '@orthoquant/quantizers';
import type { PtqOptions } from './export.js';

/** `{ actBits, weightBits?, calibration?: 'max' | 'p99.9' | { percentile } , calibrationBatches? }`. */
export interface PtqSettings extends PtqOptions {
  calibrationBatches?: number;
}

const KEYS = ['actBits', 'weightBits', 'calibration', 'calibrationBatches'];

/**
 * Parse PTQ settings. `calibration` is `max` (QORNN's choice), a percentile of |x| as
 * `{ percentile: 99.9 }` or the short form `p99.9`; the range is then rounded up to a power of two.
 */
export function parsePtqSettings(value: unknown, where = 'ptq'): PtqSettings {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`expected an object with actBits, got ${JSON.stringify(value)}`, where);
  const r = value as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KEYS.includes(k)) throw new InputError(`unknown key (expected one of ${KEYS.join(', ')})`, `${where}.${k}`);
  const int = (k: string, lo: number, hi: number, optional: boolean): number | undefined => {
    const v = r[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new InputError(`expected an integer in ${lo}..${hi}, got ${JSON.stringify(v)}`, `${where}.${k}`);
    return v;
  };
  const out: PtqSettings = { actBits: int('actBits', 2, 16, false)! };
  const weightBits = int('weightBits', 2, 16, true);
  if (weightBits !== undefined) out.weightBits = weightBits;
  const batches = int('calibrationBatches', 1, 1e9, true);
  if (batches !== undefined) out.calibrationBatches = batches;
  if (r.calibration !== undefined) out.statistic = parseStatistic(r.calibration, `${where}.calibration`);
  return out;
}

function parseStatistic(v: unknown, where: string): CalibrationStatistic {
  if (v === 'max') return 'max';
  let p: unknown;
  if (typeof v === 'string' && /^p\d+(\.\d+)?$/.test(v)) p = Number(v.slice(1));
  else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'percentile') p = (v as { percentile: unknown }).percentile;
  if (typeof p === 'number' && p > 0 && p <= 100) return { percentile: p };
  throw new InputError(`expected 'max', 'p<percentile>' (e.g. p99.9) or { percentile: p } with 0 < p ≤ 100, got ${JSON.stringify(v)}`, where);
}
