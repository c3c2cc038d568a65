/**
 * The config layer every package shares: YAML with source positions, key paths, and the zod
 * helpers whose messages say what was expected and what was given.
 *
 * - `parseYamlSource(text, file)` parses YAML keeping positions; `source.locate(path)` maps a
 *   key path to `file:line:col` (the key itself with `atKey`, else its value).
 * - `parseYamlWith(text, file, schema)` parses and validates in one step: an error names the
 *   file, line, column and key path.
 * - `int`, `num`, `oneOf`: zod schemas with messages such as `expected an integer in 1..16,
 *   got 0`; `issueMessages` turns zod issues into `key.path: message` lines.
 * - `show(v)` writes a value as messages quote it; `keyPathText(path)` writes `a.b[0].c`;
 *   `getPath(obj, path)` reads a nested value.
 *
 * Each package owns the schema of its own part of a config (task, model, optimizer, PTQ, sweep,
 * table spec) and builds it from these helpers.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { InputError } from './checks.js';

export type KeyPath = readonly (string | number)[];

/**
 * A value as error messages quote it: `'text'`, `nothing` for undefined, JSON otherwise
 * (cut to `max` characters when given).
 */
export function show(v: unknown, max = Infinity): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}

/** `['a', 'b', 0, 'c']` → `a.b[0].c`. */
export function keyPathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/** The value at a key path (`['model', 'bits']`, or dotted: `'model.bits'`) of nested objects; undefined when absent. */
export function getPath(obj: unknown, path: string | KeyPath): unknown {
  let cur = obj;
  for (const k of typeof path === 'string' ? path.split('.') : path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

// ---------------------------------------------------------------------------------------------
// YAML with positions.

/** A problem at a place in a YAML file. */
export interface SourceIssue {
  file: string;
  line: number;
  col: number;
  path: KeyPath;
  message: string;
}

/** `file:line:col: key.path: message` (no key path for a top-level problem). */
export function formatSourceIssue(i: SourceIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path.length ? `${keyPathText(i.path)}: ` : ''}${i.message}`;
}

/** A parsed YAML document that knows where each key path is written. */
export class YamlSource {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
  ) {}

  /** The document as plain JavaScript values. */
  value(): unknown {
    return this.doc.toJS() as unknown;
  }

  /** Offset of a key path: its key when `atKey`, else its value; the deepest part of the path that exists. */
  offset(path: KeyPath, atKey = false): number {
    let node: unknown = this.doc.contents;
    let best = (node as YamlNode | null)?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const k = path[i];
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? p.key.value : p.key) === k);
        if (!pair) break;
        const last = i === path.length - 1;
        if (last && atKey && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
        node = pair.value;
        const r = (node as YamlNode | null)?.range ?? (isScalar(pair.key) ? pair.key.range : undefined);
        if (r) best = r[0];
      } else if (isSeq(node) && typeof k === 'number') {
        node = node.items[k];
        const r = (node as YamlNode | null)?.range;
        if (!r) break;
        best = r[0];
      } else break;
    }
    return best;
  }

  /** A problem at a key path. */
  issue(path: KeyPath, message: string, atKey = false): SourceIssue {
    const { line, col } = this.lines.linePos(this.offset(path, atKey));
    return { file: this.file, line, col, path, message };
  }

  /** `file:line:col` of a key path. */
  locate(path: KeyPath, atKey = false): string {
    const { line, col } = this.lines.linePos(this.offset(path, atKey));
    return `${this.file}:${line}:${col}`;
  }
}

/** YAML syntax errors, each with its line and column; `source` is null when there are any. */
export function parseYamlSource(text: string, file: string): { source: YamlSource | null; errors: SourceIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length === 0) return { source: new YamlSource(file, doc, lines), errors: [] };
  const errors = doc.errors.map((e) => {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    return { file, line: pos.line, col: pos.col, path: [] as KeyPath, message: e.message.split('\n')[0] };
  });
  return { source: null, errors };
}

/**
 * Parse YAML text and validate it with a zod schema. Errors name the file, line and column,
 * and the key path (`t.yaml:3:10: rows.[0].label: …`): the first problem found.
 */
export function parseYamlWith<S extends z.ZodType>(text: string, file: string, schema: S): z.output<S> {
  const { source, errors } = parseYamlSource(text, file);
  if (!source) throw new InputError(`invalid YAML: ${errors[0].message}`, `${errors[0].file}:${errors[0].line}:${errors[0].col}`);
  const result = schema.safeParse(source.value());
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  const keyPath = path.length ? path.join('.') : '(top level)';
  throw new InputError(`${keyPath}: ${issue.message}`, source.locate(path));
}

// ---------------------------------------------------------------------------------------------
// zod helpers.

/**
 * An integer in [lo, hi] with a message naming both (`expected an integer in 1..16, got 0`;
 * with `brackets`, as the task configs write it: `in [1, 16]`).
 */
export function int(lo: number, hi = Number.MAX_SAFE_INTEGER, opts: { brackets?: boolean } = {}) {
  const range = hi === Number.MAX_SAFE_INTEGER ? `≥ ${lo}` : opts.brackets ? `in [${lo}, ${hi}]` : `in ${lo}..${hi}`;
  return z.custom<number>((v) => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi, {
    error: (iss) => `expected an integer ${range}, got ${show(iss.input)}`,
  });
}

/** `true` or `false` (`expected true or false, got 'yes'`). */
export function bool() {
  return z.custom<boolean>((v) => typeof v === 'boolean', { error: (iss) => `expected true or false, got ${show(iss.input)}` });
}

/** A string with something in it besides white space (a path, a name). */
export function nonEmptyString() {
  return z.custom<string>((v) => typeof v === 'string' && v.trim() !== '', { error: (iss) => `expected a non-empty string, got ${show(iss.input)}` });
}

/** A seed as `createRng` takes it: a safe integer or a non-empty string. */
export function seedValue() {
  return z.custom<number | string>((v) => (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && v !== ''), {
    error: (iss) => `expected an integer or a non-empty string, got ${show(iss.input)}`,
  });
}

/** A finite number with optional bounds (`lo` exclusive when `open`). */
export function num(lo = -Infinity, hi = Infinity, open = false) {
  const desc = [lo > -Infinity ? `${open ? '>' : '≥'} ${lo}` : '', hi < Infinity ? `≤ ${hi}` : ''].filter(Boolean).join(' and ');
  return z.custom<number>((v) => typeof v === 'number' && Number.isFinite(v) && (open ? v > lo : v >= lo) && v <= hi, {
    error: (iss) => `expected a number${desc ? ` ${desc}` : ''}, got ${show(iss.input)}`,
  });
}

/** One of the given strings (`expected one of 'a' | 'b', got 'c'`). */
export function oneOf<const T extends readonly string[]>(choices: T) {
  return z.custom<T[number]>((v) => typeof v === 'string' && (choices as readonly string[]).includes(v), {
    error: (iss) => `expected one of ${choices.map((c) => `'${c}'`).join(' | ')}, got ${show(iss.input)}`,
  });
}

/**
 * zod issues as `key.path: message` lines: unknown keys one line each, a missing value
 * `required`, a discriminated union's failure at its `type` key.
 */
export function issueMessages(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  const out: string[] = [];
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    if (iss.code === 'unrecognized_keys') {
      for (const k of iss.keys) out.push(`${keyPathText([...path, k])}: unknown key`);
    } else if (iss.code === 'invalid_union' && path.length && iss.message.startsWith('expected')) {
      const at = path[path.length - 1] === 'type' ? path : [...path, 'type'];
      out.push(`${keyPathText(at)}: ${iss.message.replace("expected 'type' to be", 'expected')}`);
    } else if (iss.code === 'invalid_type' && iss.input === undefined) {
      out.push(`${keyPathText(path)}: required (${iss.expected === 'custom' ? 'missing' : `expected ${iss.expected}`})`);
    } else {
      out.push(path.length ? `${keyPathText(path)}: ${iss.message}` : iss.message);
    }
  }
  return out;
}

/** Validate with a schema; an `InputError` listing every problem with its key path (`where` prefixes it). */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where?: string, prefix: readonly PropertyKey[] = []): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new InputError(issueMessages(r.error.issues, prefix).join('; '), where);
  return r.data;
}
