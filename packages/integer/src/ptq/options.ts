/**
 * The integer-only PTQ settings of a config (a trial's `ptq:` block, a sweep's, CLI flags) as
 * a zod schema: `train` composes `integerPtqShape` into the trial config's `ptq:` block, and
 * `parsePtqSettings` reads the settings alone with errors that name the key path.
 */
import { z } from 'zod';
import { InputError, int, keyPathText, show } from '@orthoquant/runtime';
import type { PtqOptions } from './export.js';

/**
 * Clipping statistic of |activation| before the power-of-two range: `'max'` (QORNN's choice),
 * or a percentile of |x| as `{ percentile: 99.9 }` or the short form `'p99.9'` (kept as the object).
 */
export const calibrationStatisticSchema = z
  .custom<'max' | `p${number}` | { percentile: number }>(
    (v) => {
      if (v === 'max') return true;
      let p: unknown;
      if (typeof v === 'string' && /^p\d+(\.\d+)?$/.test(v)) p = Number(v.slice(1));
      else if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'percentile') p = (v as { percentile: unknown }).percentile;
      return typeof p === 'number' && p > 0 && p <= 100;
    },
    { error: (iss) => `expected 'max', 'p<percentile>' (e.g. 'p99.9') or { percentile: p } with 0 < p ≤ 100, got ${show(iss.input)}` },
  )
  .transform((v): 'max' | { percentile: number } => (typeof v === 'string' && v !== 'max' ? { percentile: Number(v.slice(1)) } : (v as 'max' | { percentile: number })));

/** The integer-only PTQ keys, each optional (a trial's `ptq:` block also holds weight-only PTQ keys). */
export const integerPtqShape = {
  /** Bits of the input and hidden-state codes: 6..16 (QORNN tried 6, 8, 10, 12). */
  actBits: int(6, 16).optional(),
  /** Bits of the weights that carry no QAT bits of their own (default 8). */
  weightBits: int(2, 16).optional(),
  /** Clipping statistic of |activation| before the power-of-two range (default 'max'). */
  statistic: calibrationStatisticSchema.optional(),
  /** Calibration batches drawn from the training split (default 10). */
  calibrationBatches: int(1).optional(),
};

/** Integer-only PTQ settings alone: `actBits` required. */
export const ptqSettingsSchema = z.strictObject({ ...integerPtqShape, actBits: int(6, 16) });

/** `{ actBits, weightBits?, statistic?: 'max' | { percentile }, calibrationBatches? }`. */
export interface PtqSettings extends PtqOptions {
  calibrationBatches?: number;
}

const KEYS = Object.keys(ptqSettingsSchema.shape);

/**
 * Parse integer-only PTQ settings; an error's `where` is `where` and the key path
 * (`ptq.actBits`), its message what was expected and what was given.
 */
export function parsePtqSettings(value: unknown, where = 'ptq'): PtqSettings {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InputError(`expected an object with actBits, got ${show(value)}`, where);
  const r = ptqSettingsSchema.safeParse(value);
  if (r.success) return r.data;
  const iss = r.error.issues[0];
  const at = (path: readonly PropertyKey[]) => `${where}${path.length ? `.${keyPathText(path)}` : ''}`;
  if (iss.code === 'unrecognized_keys') throw new InputError(`unknown key (expected one of ${KEYS.join(', ')})`, at([...iss.path, iss.keys[0]]));
  throw new InputError(iss.message, at(iss.path));
}
