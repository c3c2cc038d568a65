/**
 * The sweep file: a YAML grammar close to W&B sweeps, validated with zod; every error names
 * the file, line, column and key path.
 *
 * ```yaml
 * name: quickstart              # the sweep's name in the store (default: file name)
 * method: grid                  # grid | random
 * count: 20                     # random only: number of samples
 * seed: 7                       # random only: sampling seed (default: the name)
 * mode: qat                     # qat | ptq, written into every config's `mode`
 * base: ../configs/copy.yaml    # defaults: a file (relative to this one), a mapping, or a list of both
 * parameters:
 *   model.type: { values: [hadamrnn, qornn] }      # dotted keys…
 *   model:
 *     parameters:                                  # …or nested parameters
 *       bits: { values: [2, 4] }
 *   optimizer.lr: { min: 1.0e-4, max: 1.0e-2, distribution: log_uniform_values }
 *   task.name: { value: copy }
 * seeds: [0, 1]                 # or `seeds: 3` for 0, 1, 2: sets `seed`, innermost axis
 * include:                      # extra trials: partial configs over base and constants
 *   - { model.type: lstm, model.hidden: 128 }
 * exclude:                      # drop generated trials matching every key given
 *   - { model.type: hadamrnn, model.bits: 4 }
 * ```
 *
 * A parameter is one of `value: x`, `values: [..]` (optionally `probabilities` for random),
 * `min`/`max` with a `distribution` (random only), or `parameters:` (nested keys).
 * Distributions (W&B's names): uniform, int_uniform, q_uniform, log_uniform_values,
 * q_log_uniform_values, log_uniform, q_log_uniform (bounds are natural-log exponents),
 * normal, q_normal, log_normal, q_log_normal (`mu`, `sigma`). Without `distribution`,
 * integer bounds mean int_uniform, others uniform.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { z } from 'zod';
import { InputError, formatSourceIssue, getPath, keyPathText, parseYamlSource, show as showValue, type KeyPath, type SourceIssue, type YamlSource } from '@orthoquant/runtime';

export const DISTRIBUTIONS = [
  'uniform',
  'int_uniform',
  'q_uniform',
  'log_uniform_values',
  'q_log_uniform_values',
  'log_uniform',
  'q_log_uniform',
  'normal',
  'q_normal',
  'log_normal',
  'q_log_normal',
] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

export type { KeyPath };
export { keyPathText };

export type ParameterSpec =
  | { kind: 'value'; path: string[]; value: unknown }
  | { kind: 'values'; path: string[]; values: unknown[]; probabilities?: number[] }
  | { kind: 'distribution'; path: string[]; distribution: Distribution; min?: number; max?: number; q?: number; mu?: number; sigma?: number };

export interface SweepSpec {
  name: string;
  description?: string;
  method: 'grid' | 'random';
  /** Random only. */
  count?: number;
  /** Random sampling seed (default: the name). */
  seed?: number | string;
  /** Explicit `mode:`, or undefined (then configs keep their own, default qat). */
  mode?: 'qat' | 'ptq';
  /** The merged defaults (base files and inline mappings, in order). */
  base: Record<string, unknown>;
  /** Absolute paths of the base files read. */
  baseFiles: string[];
  /** In document order. */
  parameters: ParameterSpec[];
  /** The seeds axis, or null. */
  seeds: (number | string)[] | null;
  /** Partial configs, dotted keys expanded. */
  include: Record<string, unknown>[];
  exclude: Record<string, unknown>[];
  /** Where it came from (a path, or a label for inline text). */
  file: string;
  /** The YAML text as written. */
  text: string;
  /** Maps a key path of the spec to `file:line:col` (for errors found after parsing). */
  locate(path: KeyPath): string;
}

export type SpecIssue = SourceIssue;

/** Bad sweep file: every issue with file, line, column and key path. */
export class SweepSpecError extends InputError {
  readonly issues: SpecIssue[];
  constructor(issues: SpecIssue[]) {
    super(issues.map(formatSourceIssue).join('\n'));
    this.name = 'InputError';
    this.issues = issues;
  }
}

/** Values in messages, cut at 60 characters. */
const show = (v: unknown): string => showValue(v, 60);

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const seedValue = z.union([z.int(), z.string().min(1)], { error: (i) => `expected an integer or a non-empty string, got ${show(i.input)}` });
const partial = z.record(z.string(), z.unknown(), { error: (i) => `expected a mapping of config keys, got ${show(i.input)}` });

const topSchema = z.strictObject({
  name: z.string({ error: (i) => `expected a name, got ${show(i.input)}` }).regex(NAME, { error: (i) => `expected letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${show(i.input)}` }).optional(),
  description: z.string().optional(),
  method: z.enum(['grid', 'random'], { error: (i) => `expected 'grid' or 'random', got ${show(i.input)}` }).default('grid'),
  count: z.int({ error: (i) => `expected a positive integer, got ${show(i.input)}` }).min(1, { error: (i) => `expected a positive integer, got ${show(i.input)}` }).optional(),
  seed: seedValue.optional(),
  mode: z.enum(['qat', 'ptq'], { error: (i) => `expected 'qat' or 'ptq', got ${show(i.input)}` }).optional(),
  base: z
    .union([z.string().min(1), partial, z.array(z.union([z.string().min(1), partial])).min(1)], {
      error: (i) => `expected a config file path, a mapping of defaults, or a list of these, got ${show(i.input)}`,
    })
    .optional(),
  parameters: z.record(z.string(), z.unknown(), { error: (i) => `expected a mapping of parameters, got ${show(i.input)}` }).default({}),
  seeds: z
    .union([z.int().min(1, { error: (i) => `expected a list of seeds or a count ≥ 1, got ${show(i.input)}` }).max(100_000, { error: (i) => `expected at most 100000 seeds, got ${show(i.input)}` }), z.array(seedValue).min(1, { error: 'expected a non-empty list of seeds, got []' })], {
      error: (i) => `expected a list of seeds or a count ≥ 1, got ${show(i.input)}`,
    })
    .optional(),
  include: z.array(partial, { error: (i) => `expected a list of partial configs, got ${show(i.input)}` }).default([]),
  exclude: z.array(partial, { error: (i) => `expected a list of partial configs, got ${show(i.input)}` }).default([]),
});

const num = (what: string) => z.number({ error: (i) => `expected ${what}, got ${show(i.input)}` }).refine(Number.isFinite, { error: (i) => `expected ${what}, got ${show(i.input)}` });
const valueSchema = z.strictObject({ value: z.unknown() });
const valuesSchema = z.strictObject({
  values: z.array(z.unknown(), { error: (i) => `expected a non-empty list, got ${show(i.input)}` }).min(1, { error: 'expected a non-empty list, got []' }),
  probabilities: z.array(num('a probability ≥ 0').refine((p) => p >= 0, { error: (i) => `expected a probability ≥ 0, got ${show(i.input)}` })).optional(),
});
const distributionSchema = z.strictObject({
  distribution: z.enum(DISTRIBUTIONS, { error: (i) => `expected one of ${DISTRIBUTIONS.join(', ')}, got ${show(i.input)}` }).optional(),
  min: num('a number').optional(),
  max: num('a number').optional(),
  q: num('a number > 0').refine((q) => q > 0, { error: (i) => `expected a number > 0, got ${show(i.input)}` }).optional(),
  mu: num('a number').optional(),
  sigma: num('a number > 0').refine((s) => s > 0, { error: (i) => `expected a number > 0, got ${show(i.input)}` }).optional(),
});
const nestedSchema = z.strictObject({ parameters: z.record(z.string(), z.unknown(), { error: (i) => `expected a mapping of parameters, got ${show(i.input)}` }) });

const PARAM_FORMS = `value: x, values: [..], min/max with a distribution, or parameters: (nested keys)`;

interface Ctx {
  loc: YamlSource;
  issues: SpecIssue[];
}

function zodIssues(ctx: Ctx, at: KeyPath, err: z.ZodError, input: unknown): void {
  for (const iss of err.issues) {
    const rel = iss.path as (string | number)[];
    const path = [...at, ...rel];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) ctx.issues.push(ctx.loc.issue([...path, k], `unknown key${path.length === 0 ? ` (expected ${Object.keys(topSchema.shape).join(', ')})` : ''}`, true));
    } else if (iss.code === 'invalid_type' && getPath(input, rel) === undefined) {
      ctx.issues.push(ctx.loc.issue(path, `required`));
    } else {
      ctx.issues.push(ctx.loc.issue(path, iss.message));
    }
  }
}

/** Split a dotted key into path segments; empty segments are an error. */
function splitKey(ctx: Ctx, yamlPath: KeyPath, key: string): string[] | null {
  const parts = key.split('.');
  if (parts.some((p) => p === '')) {
    ctx.issues.push(ctx.loc.issue(yamlPath, `'${key}' is not a valid key (empty segment)`, true));
    return null;
  }
  return parts;
}

function parseParameters(ctx: Ctx, method: 'grid' | 'random', params: Record<string, unknown>, yamlPath: KeyPath, prefix: string[], out: ParameterSpec[]): void {
  for (const [key, raw] of Object.entries(params)) {
    const at = [...yamlPath, key];
    const segs = splitKey(ctx, at, key);
    if (!segs) continue;
    const path = [...prefix, ...segs];
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      ctx.issues.push(ctx.loc.issue(at, `expected a mapping (${PARAM_FORMS}), got ${show(raw)}${raw !== null && typeof raw !== 'object' ? `; for a constant write '${key}: { value: ${show(raw)} }'` : ''}`));
      continue;
    }
    const keys = Object.keys(raw);
    const has = (k: string) => keys.includes(k);
    const forms = [has('parameters'), has('value'), has('values'), has('distribution') || has('min') || has('max') || has('mu') || has('sigma')].filter(Boolean).length;
    if (forms !== 1) {
      ctx.issues.push(ctx.loc.issue(at, forms === 0 ? `expected one of ${PARAM_FORMS}; got keys ${keys.length ? keys.join(', ') : '(none)'}` : `give only one of value, values, min/max, parameters; got ${keys.join(', ')}`));
      continue;
    }
    if (has('parameters')) {
      const r = nestedSchema.safeParse(raw);
      if (!r.success) zodIssues(ctx, at, r.error, raw);
      else parseParameters(ctx, method, r.data.parameters, [...at, 'parameters'], path, out);
    } else if (has('value')) {
      const r = valueSchema.safeParse(raw);
      if (!r.success) zodIssues(ctx, at, r.error, raw);
      else out.push({ kind: 'value', path, value: r.data.value });
    } else if (has('values')) {
      const r = valuesSchema.safeParse(raw);
      if (!r.success) zodIssues(ctx, at, r.error, raw);
      else {
        const { values, probabilities } = r.data;
        if (probabilities) {
          if (method === 'grid') ctx.issues.push(ctx.loc.issue([...at, 'probabilities'], `probabilities only apply to method: random`, true));
          else if (probabilities.length !== values.length) ctx.issues.push(ctx.loc.issue([...at, 'probabilities'], `expected ${values.length} probabilities (one per value), got ${probabilities.length}`));
          else if (!probabilities.some((p) => p > 0)) ctx.issues.push(ctx.loc.issue([...at, 'probabilities'], `expected at least one probability > 0`));
        }
        out.push(probabilities ? { kind: 'values', path, values, probabilities } : { kind: 'values', path, values });
      }
    } else {
      const r = distributionSchema.safeParse(raw);
      if (!r.success) {
        zodIssues(ctx, at, r.error, raw);
        continue;
      }
      const d = r.data;
      const isInt = (v: number | undefined) => v !== undefined && Number.isInteger(v);
      const distribution: Distribution = d.distribution ?? (isInt(d.min) && isInt(d.max) ? 'int_uniform' : 'uniform');
      if (method === 'grid') {
        ctx.issues.push(ctx.loc.issue(at, `method: grid needs 'values' or 'value' (a ${distribution} distribution can only be sampled: use method: random)`));
        continue;
      }
      const normalLike = distribution.includes('normal');
      if (normalLike) {
        for (const k of ['min', 'max'] as const) if (d[k] !== undefined) ctx.issues.push(ctx.loc.issue([...at, k], `not used by ${distribution} (give mu and sigma)`, true));
      } else {
        for (const k of ['mu', 'sigma'] as const) if (d[k] !== undefined) ctx.issues.push(ctx.loc.issue([...at, k], `not used by ${distribution} (give min and max)`, true));
        if (d.min === undefined || d.max === undefined) {
          ctx.issues.push(ctx.loc.issue(at, `${distribution} needs both min and max`));
          continue;
        }
        if (!(d.min < d.max)) ctx.issues.push(ctx.loc.issue([...at, 'max'], `expected max > min (${d.min}), got ${d.max}`));
        if (distribution === 'int_uniform' && (!isInt(d.min) || !isInt(d.max))) ctx.issues.push(ctx.loc.issue(at, `int_uniform needs integer min and max, got ${d.min} and ${d.max}`));
        if (distribution.endsWith('_values') && d.min <= 0) ctx.issues.push(ctx.loc.issue([...at, 'min'], `${distribution} needs min > 0, got ${d.min}`));
      }
      if (d.q !== undefined && !distribution.startsWith('q_')) ctx.issues.push(ctx.loc.issue([...at, 'q'], `q only applies to q_* distributions`, true));
      const spec: ParameterSpec = { kind: 'distribution', path, distribution };
      for (const k of ['min', 'max', 'q', 'mu', 'sigma'] as const) if (d[k] !== undefined) spec[k] = d[k];
      out.push(spec);
    }
  }
}

/** `{ 'a.b': 1, c: { d: 2 } }` → `{ a: { b: 1 }, c: { d: 2 } }`, reporting clashes. */
function expandDotted(ctx: Ctx, obj: Record<string, unknown>, at: KeyPath): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const segs = splitKey(ctx, [...at, key], key);
    if (!segs) continue;
    let target = out;
    let ok = true;
    for (const s of segs.slice(0, -1)) {
      const cur = target[s];
      if (cur === undefined) target[s] = {};
      else if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) {
        ctx.issues.push(ctx.loc.issue([...at, key], `'${key}' clashes with another key giving '${s}' a value`, true));
        ok = false;
        break;
      }
      target = target[s] as Record<string, unknown>;
    }
    if (!ok) continue;
    const last = segs[segs.length - 1];
    const v = value !== null && typeof value === 'object' && !Array.isArray(value) ? expandDotted(ctx, value as Record<string, unknown>, [...at, key]) : value;
    if (target[last] !== undefined) {
      if (isPlain(target[last]) && isPlain(v)) target[last] = deepMerge(target[last] as Record<string, unknown>, v as Record<string, unknown>);
      else ctx.issues.push(ctx.loc.issue([...at, key], `'${key}' is given twice`, true));
    } else target[last] = v;
  }
  return out;
}

export function isPlain(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of plain objects: `over` wins; arrays and scalars are replaced whole. */
export function deepMerge(under: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(out[k]) && isPlain(v) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

function parseYaml(text: string, file: string): YamlSource {
  const { source, errors } = parseYamlSource(text, file);
  if (!source) throw new SweepSpecError(errors.map((e) => ({ ...e, message: `YAML: ${e.message}` })));
  return source;
}

function loadBaseFile(ctx: Ctx, baseDir: string, rel: string, at: KeyPath): Record<string, unknown> | null {
  const file = resolve(baseDir, rel);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    ctx.issues.push(ctx.loc.issue(at, `cannot read base config ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
    return null;
  }
  const value = parseYaml(text, file).value(); // throws with the base file's own line and column
  if (!isPlain(value)) {
    ctx.issues.push(ctx.loc.issue(at, `base config ${file} must be a mapping, got ${show(value)}`));
    return null;
  }
  return value;
}

export interface ParseSweepOptions {
  /** Shown in errors and used for the default name (default `<inline>`). */
  file?: string;
  /** Folder that relative `base:` paths start from (default: the file's folder, or cwd). */
  baseDir?: string;
}

/** Parse and validate sweep YAML text. Throws `SweepSpecError` listing every problem. */
export function parseSweepText(text: string, opts: ParseSweepOptions = {}): SweepSpec {
  const file = opts.file ?? '<inline>';
  const baseDir = opts.baseDir ?? (opts.file ? dirname(resolve(opts.file)) : process.cwd());
  const loc = parseYaml(text, file);
  const ctx: Ctx = { loc, issues: [] };
  const raw = loc.value();
  if (!isPlain(raw)) throw new SweepSpecError([loc.issue([], `expected a mapping with parameters (and name, method, base, seeds…), got ${show(raw)}`)]);
  const r = topSchema.safeParse(raw);
  if (!r.success) {
    zodIssues(ctx, [], r.error, raw);
    throw new SweepSpecError(ctx.issues);
  }
  const top = r.data;
  if (top.method === 'random' && top.count === undefined) ctx.issues.push(loc.issue(['method'], `method: random needs count (the number of trials to sample)`));
  if (top.method === 'grid') {
    if (top.count !== undefined) ctx.issues.push(loc.issue(['count'], `count only applies to method: random (a grid runs every combination)`, true));
    if (top.seed !== undefined) ctx.issues.push(loc.issue(['seed'], `seed only applies to method: random (the sampling seed); use seeds: for training seeds`, true));
  }
  const parameters: ParameterSpec[] = [];
  parseParameters(ctx, top.method, top.parameters, ['parameters'], [], parameters);
  // no parameter may be given twice or inside another one
  const seen = new Map<string, ParameterSpec>();
  for (const p of parameters) {
    const key = p.path.join('.');
    for (const [other] of seen) {
      if (other === key || other.startsWith(`${key}.`) || key.startsWith(`${other}.`)) {
        ctx.issues.push(loc.issue(['parameters'], `parameter '${key}' overlaps parameter '${other}' (each key may be set by one parameter)`));
      }
    }
    seen.set(key, p);
  }
  let seeds: (number | string)[] | null = null;
  if (top.seeds !== undefined) {
    seeds = typeof top.seeds === 'number' ? Array.from({ length: top.seeds }, (_, i) => i) : top.seeds;
    if (new Set(seeds).size !== seeds.length) ctx.issues.push(loc.issue(['seeds'], `seeds must be distinct, got ${show(seeds)}`));
    if (seen.has('seed')) ctx.issues.push(loc.issue(['seeds'], `give seeds: or a 'seed' parameter, not both`, true));
  }
  let base: Record<string, unknown> = {};
  const baseFiles: string[] = [];
  if (top.base !== undefined) {
    const items = Array.isArray(top.base) ? top.base : [top.base];
    items.forEach((item, i) => {
      const at: KeyPath = Array.isArray(top.base) ? ['base', i] : ['base'];
      if (typeof item === 'string') {
        const value = loadBaseFile(ctx, baseDir, item, at);
        if (value) {
          baseFiles.push(resolve(baseDir, item));
          base = deepMerge(base, value);
        }
      } else base = deepMerge(base, expandDotted(ctx, item, at));
    });
  }
  const include = top.include.map((e, i) => expandDotted(ctx, e, ['include', i]));
  const exclude = top.exclude.map((e, i) => expandDotted(ctx, e, ['exclude', i]));
  exclude.forEach((e, i) => {
    if (Object.keys(e).length === 0) ctx.issues.push(loc.issue(['exclude', i], `an empty exclude entry would drop every trial`));
  });
  if (ctx.issues.length) throw new SweepSpecError(ctx.issues);
  const name = top.name ?? defaultName(file);
  if (!NAME.test(name)) throw new SweepSpecError([loc.issue([], `no name: given and the file name '${basename(file)}' is not a valid sweep name; add name:`)]);
  const spec: SweepSpec = {
    name,
    method: top.method,
    base,
    baseFiles,
    parameters,
    seeds,
    include,
    exclude,
    file,
    text,
    locate: (path) => loc.locate(path),
  };
  if (top.description !== undefined) spec.description = top.description;
  if (top.count !== undefined) spec.count = top.count;
  if (top.seed !== undefined) spec.seed = top.seed;
  if (top.mode !== undefined) spec.mode = top.mode;
  return spec;
}

function defaultName(file: string): string {
  return basename(file, extname(file));
}

/** Read and validate a sweep file (see the module comment for the grammar). */
export function loadSweepFile(path: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read sweep file: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, path);
  }
  return parseSweepText(text, { file: path });
}
