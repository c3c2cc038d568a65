/**
 * Sweep expansion: a validated spec → the list of trial configs, in a deterministic order,
 * each with its canonical JSON and hash.
 *
 * - Layers, later wins: `base` → `mode:` → constant parameters (`value`) → the varying
 *   parameters of this trial → `seed`. Include entries replace the varying layer.
 * - grid: the cartesian product of every `values` list, the first-listed parameter varying
 *   slowest; the seeds axis is innermost, so a config's seeds sit together.
 * - random: `count` samples; sample i, parameter p draws from the stream
 *   `createRng('sweep:<seed or name>').fork('<i>/<p>')`, so raising `count` keeps the earlier
 *   samples and adding a parameter leaves the others' draws alone. Each sample × seeds.
 * - exclude drops generated trials (not include entries) that match every key of an entry;
 *   a key that no trial has is an error (a typo would silently exclude nothing).
 * - include entries (over base and constants) are appended, each × seeds unless it sets
 *   `seed` itself.
 * - A config reached twice (a duplicate include, a repeated random draw) is kept once.
 * - Optional `resolve(config, where)` (the trainer's `parseTrialConfig`) validates each config
 *   and fills defaults; the resolved config is what is hashed and stored.
 */
import { createRng, getPath, InputError, type Rng } from '@orthoquant/runtime';
import { canonicalJson, sha256, trialSetFingerprint } from './canonical.js';
import { deepMerge, isPlain, type ParameterSpec, type SweepSpec } from './spec.js';

export type TrialMode = 'qat' | 'ptq';

export interface ExpandedTrial {
  /** Position in the expansion. */
  index: number;
  config: Record<string, unknown>;
  configJson: string;
  hash: string;
  mode: TrialMode;
  /** What varies in this trial, e.g. `model.bits=2 optimizer.lr=0.001 seed=1`. */
  label: string;
  source: 'grid' | 'random' | 'include';
}

export interface Expansion {
  spec: SweepSpec;
  trials: ExpandedTrial[];
  /** sha256 over the sorted trial hashes. */
  fingerprint: string;
  /** Generated combinations (before the seeds axis) dropped by each exclude entry. */
  excluded: number[];
  /** Configs reached more than once (kept once). */
  duplicates: number;
}

export type ConfigResolver = (config: Record<string, unknown>, where: string) => unknown;

export interface ExpandOptions {
  resolve?: ConfigResolver;
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown, what: string): void {
  let target = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const cur = target[path[i]];
    if (cur === undefined || cur === null) target[path[i]] = {};
    else if (!isPlain(cur)) throw new Error(`${what}: cannot set ${path.join('.')}: ${path.slice(0, i + 1).join('.')} is ${JSON.stringify(cur)}, not a mapping`);
    else target[path[i]] = { ...cur };
    target = target[path[i]] as Record<string, unknown>;
  }
  target[path[path.length - 1]] = clone(value);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** Leaf paths of a partial config (plain objects are walked, anything else is a leaf). */
function leaves(obj: Record<string, unknown>, prefix: string[] = []): { path: string[]; value: unknown }[] {
  const out: { path: string[]; value: unknown }[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (isPlain(v) && Object.keys(v).length > 0) out.push(...leaves(v, [...prefix, k]));
    else out.push({ path: [...prefix, k], value: v });
  }
  return out;
}

function fmt(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Round to a multiple of q, then trim float noise (0.30000000000000004 → 0.3). */
function quantize(x: number, q: number): number {
  return Number((Math.round(x / q) * q).toPrecision(12));
}

function sample(p: ParameterSpec, rng: Rng): unknown {
  if (p.kind === 'value') return p.value;
  if (p.kind === 'values') {
    if (!p.probabilities) return p.values[rng.int(p.values.length)];
    const total = p.probabilities.reduce((a, b) => a + b, 0);
    let u = rng.uniform() * total;
    for (let i = 0; i < p.values.length; i++) {
      u -= p.probabilities[i];
      if (u < 0 && p.probabilities[i] > 0) return p.values[i];
    }
    return p.values[p.probabilities.map((x) => x > 0).lastIndexOf(true)];
  }
  const { min = 0, max = 1, q = 1, mu = 0, sigma = 1 } = p;
  switch (p.distribution) {
    case 'uniform':
      return rng.uniformIn(min, max);
    case 'int_uniform':
      return min + rng.int(max - min + 1);
    case 'q_uniform':
      return quantize(rng.uniformIn(min, max), q);
    case 'log_uniform_values':
      return Math.exp(rng.uniformIn(Math.log(min), Math.log(max)));
    case 'q_log_uniform_values':
      return quantize(Math.exp(rng.uniformIn(Math.log(min), Math.log(max))), q);
    case 'log_uniform':
      return Math.exp(rng.uniformIn(min, max));
    case 'q_log_uniform':
      return quantize(Math.exp(rng.uniformIn(min, max)), q);
    case 'normal':
      return rng.normal(mu, sigma);
    case 'q_normal':
      return quantize(rng.normal(mu, sigma), q);
    case 'log_normal':
      return Math.exp(rng.normal(mu, sigma));
    case 'q_log_normal':
      return quantize(Math.exp(rng.normal(mu, sigma)), q);
  }
}

interface Candidate {
  vary: { path: string[]; value: unknown }[];
  overlay?: Record<string, unknown>;
  source: ExpandedTrial['source'];
  /** YAML path of the include entry, for errors. */
  at?: (string | number)[];
}

/** Expand a sweep into its trials (see the module comment for order and rules). */
export function expandSweep(spec: SweepSpec, opts: ExpandOptions = {}): Expansion {
  const constants = spec.parameters.filter((p) => p.kind === 'value');
  const varying = spec.parameters.filter((p) => p.kind !== 'value');
  let common: Record<string, unknown> = clone(spec.base);
  if (spec.mode !== undefined) common = deepMerge(common, { mode: spec.mode });
  for (const p of constants) setPath(common, p.path, p.value, spec.locate(['parameters']));

  const generated: Candidate[] = [];
  if (spec.method === 'grid') {
    const axes = varying as Extract<ParameterSpec, { kind: 'values' }>[];
    const total = axes.reduce((n, a) => n * a.values.length, 1);
    if (total * (spec.seeds?.length ?? 1) > 1_000_000) throw new InputError(`the grid has ${total} combinations${spec.seeds ? ` × ${spec.seeds.length} seeds` : ''}; more than 1,000,000 trials is surely a mistake`, spec.file);
    for (let i = 0; i < total; i++) {
      let rest = i;
      const vary: Candidate['vary'] = new Array(axes.length);
      for (let a = axes.length - 1; a >= 0; a--) {
        const n = axes[a].values.length;
        vary[a] = { path: axes[a].path, value: axes[a].values[rest % n] };
        rest = Math.floor(rest / n);
      }
      generated.push({ vary, source: 'grid' });
    }
  } else {
    const root = createRng(`sweep:${spec.seed ?? spec.name}`);
    for (let i = 0; i < (spec.count ?? 0); i++) {
      generated.push({ vary: varying.map((p) => ({ path: p.path, value: sample(p, root.fork(`${i}/${p.path.join('.')}`)) })), source: 'random' });
    }
  }

  // exclude: every key of an entry must exist in some generated config, then drop matches
  const build = (c: Candidate): Record<string, unknown> => {
    let cfg = clone(common);
    if (c.overlay) cfg = deepMerge(cfg, clone(c.overlay));
    for (const v of c.vary) setPath(cfg, v.path, v.value, spec.file);
    return cfg;
  };
  const excluded = spec.exclude.map(() => 0);
  const excludeLeaves = spec.exclude.map((e) => leaves(e));
  const builtGenerated = generated.map((c) => ({ c, cfg: build(c) }));
  excludeLeaves.forEach((ls, i) => {
    for (const l of ls) {
      if (!builtGenerated.some(({ cfg }) => getPath(cfg, l.path) !== undefined)) {
        throw new InputError(`exclude[${i}].${l.path.join('.')}: no trial has this key (known keys: ${knownKeys(builtGenerated.map((b) => b.cfg))})`, spec.locate(['exclude', i]));
      }
    }
  });
  const kept = builtGenerated.filter(({ cfg }) => {
    const hit = excludeLeaves.findIndex((ls) => ls.every((l) => canonicalJson(getPath(cfg, l.path) ?? null) === canonicalJson(l.value)));
    if (hit >= 0) excluded[hit]++;
    return hit < 0;
  });

  const candidates: { c: Candidate; cfg: Record<string, unknown> }[] = [...kept];
  spec.include.forEach((entry, i) => {
    const c: Candidate = { vary: [], overlay: entry, source: 'include', at: ['include', i] };
    candidates.push({ c, cfg: build(c) });
  });

  const trials: ExpandedTrial[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  // every generated config has its own number in messages, valid or not
  let position = 0;
  const errors: string[] = [];
  for (const { c, cfg } of candidates) {
    const seedList = spec.seeds && !(c.source === 'include' && getPath(c.overlay, ['seed']) !== undefined) ? spec.seeds : [undefined];
    for (const seed of seedList) {
      let config = seed === undefined ? cfg : { ...cfg, seed };
      if (config.mode === undefined) config = { ...config, mode: 'qat' };
      const labelParts = c.source === 'include' ? leaves(c.overlay ?? {}).map((l) => `${l.path.join('.')}=${fmt(l.value)}`) : c.vary.map((v) => `${v.path.join('.')}=${fmt(v.value)}`);
      if (seed !== undefined) labelParts.push(`seed=${fmt(seed)}`);
      const label = (c.source === 'include' ? ['include:', ...labelParts] : labelParts).join(' ') || '(base config)';
      const where = `${c.at ? spec.locate(c.at) : spec.file}: trial ${position++} (${label})`;
      if (opts.resolve) {
        try {
          const resolved = opts.resolve(config, where);
          if (!isPlain(resolved)) throw new Error(`${where}: the config resolver returned ${typeof resolved}, not a mapping`);
          config = resolved;
        } catch (e) {
          errors.push((e as Error).message);
          if (errors.length >= 10) break;
          continue;
        }
      }
      const mode = config.mode;
      if (mode !== 'qat' && mode !== 'ptq') {
        errors.push(`${where}: mode: expected 'qat' or 'ptq', got ${JSON.stringify(mode)}`);
        continue;
      }
      let configJson: string;
      try {
        configJson = canonicalJson(config);
      } catch (e) {
        errors.push(`${where}: ${(e as Error).message}`);
        continue;
      }
      const hash = sha256(configJson);
      if (seen.has(hash)) {
        duplicates++;
        continue;
      }
      seen.add(hash);
      trials.push({ index: trials.length, config: JSON.parse(configJson) as Record<string, unknown>, configJson, hash, mode, label, source: c.source });
    }
    if (errors.length >= 10) break;
  }
  if (errors.length) throw new InputError(`${errors.length >= 10 ? 'the first 10 of several' : errors.length} invalid trial config${errors.length === 1 ? '' : 's'}:\n${errors.join('\n')}`, spec.file);
  if (trials.length === 0) throw new InputError(`the sweep expands to no trials (every generated trial excluded and no include entries)`, spec.file);
  return { spec, trials, fingerprint: trialSetFingerprint(trials.map((t) => t.hash)), excluded, duplicates };
}

function knownKeys(configs: Record<string, unknown>[]): string {
  const keys = new Set<string>();
  for (const c of configs.slice(0, 50)) for (const l of leaves(c)) keys.add(l.path.join('.'));
  const list = [...keys].sort();
  return list.length > 20 ? `${list.slice(0, 20).join(', ')}, …` : list.join(', ') || '(none)';
}

