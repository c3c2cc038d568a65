/**
 * The `runs list --where` grammar: a tiny AND-only filter over trials, compiled into
 * parameterized SQL (values and JSON paths are bound, never spliced into the text).
 *
 *   filter     := comparison ( "and" comparison )*
 *   comparison := field op value
 *   field      := "params." path      config value   json_extract(config, '$."a"."b"')
 *               | "metrics." key      summary final value of a metric
 *               | "best." key         summary best value of a metric
 *               | "seed"              shorthand for params.seed
 *               | "status" | "mode" | "sweep" | "hash" | "id" | "attempts"
 *   op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   value      := number | 'text' | "text" | word | true | false | null
 *
 * `hash = abc123` matches a hash prefix; `sweep = name` a sweep the trial belongs to; a
 * metric comparison is false for a trial without that metric; `x = null` / `x != null` test
 * for absence. Example: `params.bits = 4 and metrics.test_acc > 0.9 and status = done`.
 */
import { sql, type SQL } from 'drizzle-orm';
import { InputError } from '@orthoquant/runtime';
import { trials, TRIAL_STATUSES, TRIAL_MODES } from './schema.js';

export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type FilterValue = number | string | boolean | null;

export type FilterField =
  | { kind: 'param'; path: string[] }
  | { kind: 'metric'; key: string; which: 'final' | 'best' }
  | { kind: 'column'; name: 'status' | 'mode' | 'sweep' | 'hash' | 'id' | 'attempts' };

export interface FilterComparison {
  field: FilterField;
  op: FilterOp;
  value: FilterValue;
  /** 0-based offset of the comparison in the filter text. */
  pos: number;
}

/** A bad filter expression: bad user input (an InputError, exit code 2 in the CLI). */
export class FilterError extends InputError {
  constructor(
    readonly reason: string,
    readonly text: string,
    readonly pos: number,
  ) {
    super(`${reason} at column ${pos + 1}\n  ${text}\n  ${' '.repeat(pos)}^`, 'filter');
    this.name = 'FilterError';
  }
}

type Token =
  | { t: 'word'; v: string; pos: number }
  | { t: 'num'; v: number; raw: string; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'op'; v: FilterOp; pos: number }
  | { t: 'end'; pos: number };

const COLUMNS = ['status', 'mode', 'sweep', 'hash', 'id', 'attempts'] as const;
const WORD = /[A-Za-z_][A-Za-z0-9_./-]*/y;
const NUMBER = /[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/y;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>' || two === '==') {
      out.push({ t: 'op', v: two === '<>' ? '!=' : two === '==' ? '=' : (two as FilterOp), pos: i });
      i += 2;
      continue;
    }
    if (c === '<' || c === '>' || c === '=') {
      out.push({ t: 'op', v: c, pos: i });
      i++;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let v = '';
      while (j < text.length && text[j] !== c) {
        if (text[j] === '\\' && j + 1 < text.length) j++;
        v += text[j];
        j++;
      }
      if (j >= text.length) throw new FilterError(`unterminated string (missing closing ${c})`, text, i);
      out.push({ t: 'str', v, pos: i });
      i = j + 1;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(text);
    if (num && /[\d.+-]/.test(c)) {
      const end = i + num[0].length;
      if (end < text.length && /[A-Za-z_]/.test(text[end])) throw new FilterError(`malformed number '${text.slice(i, end + 1)}…'`, text, i);
      out.push({ t: 'num', v: Number(num[0]), raw: num[0], pos: i });
      i = end;
      continue;
    }
    WORD.lastIndex = i;
    const w = WORD.exec(text);
    if (w) {
      out.push({ t: 'word', v: w[0], pos: i });
      i += w[0].length;
      continue;
    }
    throw new FilterError(`unexpected character '${c}'`, text, i);
  }
  out.push({ t: 'end', pos: text.length });
  return out;
}

function describe(tok: Token): string {
  switch (tok.t) {
    case 'end':
      return 'end of filter';
    case 'num':
      return `number ${tok.raw}`;
    case 'str':
      return `string '${tok.v}'`;
    default:
      return `'${tok.v}'`;
  }
}

const PATH_SEGMENT = /^[A-Za-z0-9_-]+$/;

function parseField(tok: Token, text: string): FilterField {
  if (tok.t !== 'word') throw new FilterError(`expected a field (params.<path>, metrics.<key>, best.<key>, seed, ${COLUMNS.join(', ')}), got ${describe(tok)}`, text, tok.pos);
  const name = tok.v;
  const dot = name.indexOf('.');
  const head = (dot < 0 ? name : name.slice(0, dot)).toLowerCase();
  const rest = dot < 0 ? '' : name.slice(dot + 1);
  if (head === 'params' || head === 'config') {
    const path = rest.split('.');
    const bad = path.findIndex((s) => !PATH_SEGMENT.test(s));
    if (rest === '' || bad >= 0) throw new FilterError(`expected params.<key>[.<key>…] with keys of letters, digits, '_' or '-', got '${name}'`, text, tok.pos);
    return { kind: 'param', path };
  }
  if (name.toLowerCase() === 'seed') return { kind: 'param', path: ['seed'] };
  if (head === 'metrics' || head === 'best') {
    if (rest === '') throw new FilterError(`expected ${head}.<metric key>, got '${name}'`, text, tok.pos);
    return { kind: 'metric', key: rest, which: head === 'best' ? 'best' : 'final' };
  }
  if (dot < 0 && (COLUMNS as readonly string[]).includes(head)) return { kind: 'column', name: head as (typeof COLUMNS)[number] };
  throw new FilterError(`unknown field '${name}' (expected params.<path>, metrics.<key>, best.<key>, seed, ${COLUMNS.join(', ')})`, text, tok.pos);
}

/** Parse a filter; throws `FilterError` (with the column and a caret) on bad input. */
export function parseFilter(text: string): FilterComparison[] {
  const toks = tokenize(text);
  if (toks[0].t === 'end') return [];
  const out: FilterComparison[] = [];
  let i = 0;
  for (;;) {
    const fieldTok = toks[i++];
    const field = parseField(fieldTok, text);
    const opTok = toks[i++];
    if (opTok.t !== 'op') throw new FilterError(`expected an operator (=, !=, <, <=, >, >=) after '${(fieldTok as { v: string }).v}', got ${describe(opTok)}`, text, opTok.pos);
    const valTok = toks[i++];
    let value: FilterValue;
    if (valTok.t === 'num' || valTok.t === 'str') value = valTok.v;
    else if (valTok.t === 'word') {
      const lower = valTok.v.toLowerCase();
      value = lower === 'true' ? true : lower === 'false' ? false : lower === 'null' ? null : valTok.v;
    } else throw new FilterError(`expected a value after '${opTok.v}', got ${describe(valTok)}`, text, valTok.pos);
    checkComparison(field, opTok.v, value, valTok.pos, text);
    out.push({ field, op: opTok.v, value, pos: fieldTok.pos });
    const next = toks[i++];
    if (next.t === 'end') return out;
    if (next.t === 'word' && next.v.toLowerCase() === 'and') continue;
    if (next.t === 'word' && next.v.toLowerCase() === 'or') throw new FilterError(`'or' is not supported (filters are AND-only)`, text, next.pos);
    throw new FilterError(`expected 'and' or end of filter, got ${describe(next)}`, text, next.pos);
  }
}

function checkComparison(field: FilterField, op: FilterOp, value: FilterValue, pos: number, text: string): void {
  if (value === null && op !== '=' && op !== '!=') throw new FilterError(`null can only be compared with = or !=`, text, pos);
  if (field.kind === 'metric' && value !== null && typeof value !== 'number') throw new FilterError(`expected a number for ${field.which === 'best' ? 'best' : 'metrics'}.${field.key}, got ${JSON.stringify(value)}`, text, pos);
  if (field.kind !== 'column') return;
  const name = field.name;
  if (name === 'status' || name === 'mode' || name === 'sweep' || name === 'hash') {
    if (op !== '=' && op !== '!=') throw new FilterError(`${name} can only be compared with = or !=`, text, pos);
    if (typeof value !== 'string') throw new FilterError(`expected a name for ${name}, got ${JSON.stringify(value)}`, text, pos);
    if (name === 'status' && !(TRIAL_STATUSES as readonly string[]).includes(value)) throw new FilterError(`status must be one of ${TRIAL_STATUSES.join(', ')}, got '${value}'`, text, pos);
    if (name === 'mode' && !(TRIAL_MODES as readonly string[]).includes(value)) throw new FilterError(`mode must be one of ${TRIAL_MODES.join(', ')}, got '${value}'`, text, pos);
    if (name === 'hash' && !/^[0-9a-f]+$/i.test(value)) throw new FilterError(`hash must be hexadecimal, got '${value}'`, text, pos);
  } else if (typeof value !== 'number') {
    throw new FilterError(`expected a number for ${name}, got ${JSON.stringify(value)}`, text, pos);
  }
}

/** `$."a"."b"`: a JSON path with every key quoted, so '-' and digits are plain keys. */
export function jsonPath(path: readonly string[]): string {
  return '$' + path.map((s) => `."${s}"`).join('');
}

function opSql(op: FilterOp): SQL {
  return sql.raw(op);
}

function bind(value: FilterValue): SQL {
  return sql`${typeof value === 'boolean' ? (value ? 1 : 0) : value}`;
}

/** One comparison as SQL over the `trials` table. */
export function comparisonSql(c: FilterComparison): SQL {
  const { field, op, value } = c;
  if (field.kind === 'param') {
    const expr = sql`json_extract(${trials.config}, ${jsonPath(field.path)})`;
    if (value === null) return op === '=' ? sql`${expr} IS NULL` : sql`${expr} IS NOT NULL`;
    return sql`${expr} ${opSql(op)} ${bind(value)}`;
  }
  if (field.kind === 'metric') {
    const col = field.which === 'best' ? sql.raw('s.best') : sql.raw('s.final');
    const exists = (cond: SQL) => sql`EXISTS (SELECT 1 FROM summary s WHERE s.trial_id = ${trials.id} AND s.key = ${field.key} AND ${cond})`;
    if (value === null) return op === '=' ? sql`NOT ${exists(sql`${col} IS NOT NULL`)}` : exists(sql`${col} IS NOT NULL`);
    return exists(sql`${col} ${opSql(op)} ${bind(value)}`);
  }
  switch (field.name) {
    case 'status':
      return sql`${trials.status} ${opSql(op)} ${value}`;
    case 'mode':
      return sql`${trials.mode} ${opSql(op)} ${value}`;
    case 'id':
      return sql`${trials.id} ${opSql(op)} ${value}`;
    case 'attempts':
      return sql`${trials.attempts} ${opSql(op)} ${value}`;
    case 'hash': {
      const like = sql`${trials.configHash} LIKE ${`${String(value).toLowerCase()}%`}`;
      return op === '=' ? like : sql`NOT (${like})`;
    }
    case 'sweep': {
      const member = sql`EXISTS (SELECT 1 FROM sweep_trials st JOIN sweeps sw ON sw.id = st.sweep_id WHERE st.trial_id = ${trials.id} AND st.active = 1 AND sw.name = ${value})`;
      return op === '=' ? member : sql`NOT ${member}`;
    }
  }
}

/** The whole filter as one SQL condition (`1 = 1` when empty). */
export function compileFilter(filter: string | readonly FilterComparison[]): SQL {
  const cs = typeof filter === 'string' ? parseFilter(filter) : filter;
  if (cs.length === 0) return sql`1 = 1`;
  return sql.join(
    cs.map((c) => sql`(${comparisonSql(c)})`),
    sql` AND `,
  );
}
