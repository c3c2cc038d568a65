/**
 * Validation of plain task-config objects. Every message names the key path, what was
 * expected and what was given: `task.K: expected an integer ≥ 1, got 0`.
 */

import { show } from '@orthoquant/runtime';

/** Any JSON-like config object (from YAML, a CLI flag or code). */
export type ConfigRecord = Readonly<Record<string, unknown>>;

export function configError(path: string, expected: string, got: unknown): Error {
  return new Error(`${path}: expected ${expected}, got ${show(got)}`);
}

/** Refuse keys that the task does not know (typos must not pass silently). */
export function rejectUnknownKeys(cfg: ConfigRecord, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(cfg)) {
    if (!allowed.includes(key)) {
      throw new Error(`${path}.${key}: unknown key for task '${String(cfg.name)}' (expected one of ${allowed.join(', ')})`);
    }
  }
}

export function readInt(cfg: ConfigRecord, key: string, path: string, opts: { min?: number; max?: number; default?: number } = {}): number {
  const v = cfg[key] ?? opts.default;
  const { min, max } = opts;
  const range = min !== undefined && max !== undefined ? ` in [${min}, ${max}]` : min !== undefined ? ` ≥ ${min}` : max !== undefined ? ` ≤ ${max}` : '';
  if (typeof v !== 'number' || !Number.isInteger(v) || (min !== undefined && v < min) || (max !== undefined && v > max)) {
    throw configError(`${path}.${key}`, `an integer${range}`, v);
  }
  return v;
}

export function readOptionalInt(cfg: ConfigRecord, key: string, path: string, opts: { min?: number; max?: number } = {}): number | undefined {
  return cfg[key] === undefined ? undefined : readInt(cfg, key, path, opts);
}

export function readEnum<T extends string>(cfg: ConfigRecord, key: string, path: string, choices: readonly T[], def?: T): T {
  const v = cfg[key] ?? def;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw configError(`${path}.${key}`, `one of ${choices.map((c) => `'${c}'`).join(' | ')}`, v);
  }
  return v as T;
}

export function readBoolean(cfg: ConfigRecord, key: string, path: string, def: boolean): boolean {
  const v = cfg[key] ?? def;
  if (typeof v !== 'boolean') throw configError(`${path}.${key}`, 'true or false', v);
  return v;
}

export function readOptionalString(cfg: ConfigRecord, key: string, path: string): string | undefined {
  const v = cfg[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw configError(`${path}.${key}`, 'a non-empty string', v);
  return v;
}

/** A seed: an integer or a string (as `createRng` accepts). */
/**
 * A data seed that may be `'trial'`: the trial's own seed (the reference code draws data
 * from the same seed as the init). Without a trial seed (a task built outside a trial),
 * `'trial'` means 0.
 */
export function resolveTrialSeed(seed: number | string, trialSeed: number | string | undefined): number | string {
  return seed === 'trial' ? (trialSeed ?? 0) : seed;
}

/** A task config with its `'trial'` data seeds (copy `seed`, MNIST `splitSeed`) replaced by `trialSeed`. */
export function resolveTrialSeeds(cfg: ConfigRecord, trialSeed: number | string): ConfigRecord {
  const out: Record<string, unknown> = { ...cfg };
  for (const k of ['seed', 'splitSeed']) if (out[k] === 'trial') out[k] = trialSeed;
  return out;
}

export function readSeed(cfg: ConfigRecord, key: string, path: string, def: number | string): number | string {
  const v = cfg[key] ?? def;
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v !== '')) return v;
  throw configError(`${path}.${key}`, 'an integer or a non-empty string', v);
}
