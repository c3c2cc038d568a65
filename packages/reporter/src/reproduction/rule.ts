/**
 * Verdict rules of reproduction claims: comparisons of arithmetic over a trial's metrics.
 *
 *   rule       := comparison ( "and" comparison )*
 *   comparison := expr ( "<" | "<=" | ">" | ">=" ) expr
 *   expr       := term ( ("+" | "-") term )*
 *   term       := factor ( ("*" | "/") factor )*
 *   factor     := number | metric key | "(" expr ")" | "-" factor
 *
 * `test_loss < memoryless_loss / 100`, `int_test_accuracy >= float_ref_test_accuracy - 0.01`.
 * A rule over a trial that lacks one of its metrics is undecided (null), never false.
 */
import { InputError } from '@orthoquant/runtime';

type BinaryOp = '+' | '-' | '*' | '/';
type Expr = { k: 'num'; v: number } | { k: 'key'; name: string } | { k: 'neg'; e: Expr } | { k: 'bin'; op: BinaryOp; a: Expr; b: Expr };
type CmpOp = '<' | '<=' | '>' | '>=';

export interface Rule {
  text: string;
  comparisons: { op: CmpOp; a: Expr; b: Expr }[];
  /** Metric keys the rule reads. */
  keys: string[];
}

const TOKEN = /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_.]*)|(<=|>=|<|>|[-+*/()]))/y;

export function parseRule(text: string, where = 'rule'): Rule {
  const toks: { t: 'num' | 'word' | 'op'; v: string; pos: number }[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    TOKEN.lastIndex = i;
    const m = TOKEN.exec(text);
    if (!m) throw new InputError(`unexpected character '${text[i]}' at column ${i + 1} of '${text}'`, where);
    const pos = i + m[0].length - m[0].trimStart().length;
    toks.push(m[1] !== undefined ? { t: 'num', v: m[1], pos } : m[2] !== undefined ? { t: 'word', v: m[2], pos } : { t: 'op', v: m[3], pos });
    i = TOKEN.lastIndex;
  }
  let p = 0;
  const keys = new Set<string>();
  const fail = (what: string): never => {
    const tok = toks[p];
    throw new InputError(`expected ${what} at ${tok ? `column ${tok.pos + 1} ('${tok.v}')` : 'the end'} of '${text}'`, where);
  };
  const factor = (): Expr => {
    const tok = toks[p];
    if (!tok) return fail('a number or a metric key');
    if (tok.t === 'num') return (p++, { k: 'num', v: Number(tok.v) });
    if (tok.t === 'word' && tok.v !== 'and') return (p++, keys.add(tok.v), { k: 'key', name: tok.v });
    if (tok.v === '-') return (p++, { k: 'neg', e: factor() });
    if (tok.v === '(') {
      p++;
      const e = expr();
      if (toks[p]?.v !== ')') fail("')'");
      p++;
      return e;
    }
    return fail('a number or a metric key');
  };
  /** One precedence level: operands from `next`, joined left to right by any of `ops`. */
  const leftAssociative =
    (next: () => Expr, ops: readonly BinaryOp[]) =>
    (): Expr => {
      let e = next();
      while (ops.includes(toks[p]?.v as BinaryOp)) {
        const op = toks[p++].v as BinaryOp;
        e = { k: 'bin', op, a: e, b: next() };
      }
      return e;
    };
  const term = leftAssociative(factor, ['*', '/']);
  const expr = leftAssociative(term, ['+', '-']);
  const comparisons: Rule['comparisons'] = [];
  for (;;) {
    const a = expr();
    const op = toks[p]?.v;
    if (op !== '<' && op !== '<=' && op !== '>' && op !== '>=') fail('a comparison (<, <=, >, >=)');
    p++;
    comparisons.push({ op: op as CmpOp, a, b: expr() });
    if (p === toks.length) break;
    if (toks[p].t === 'word' && toks[p].v === 'and') {
      p++;
      continue;
    }
    fail("'and' or the end of the rule");
  }
  return { text, comparisons, keys: [...keys] };
}

function value(e: Expr, metrics: Record<string, number>): number | null {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'key': {
      const v = metrics[e.name];
      return typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
    case 'neg': {
      const v = value(e.e, metrics);
      return v === null ? null : -v;
    }
    case 'bin': {
      const a = value(e.a, metrics);
      const b = value(e.b, metrics);
      if (a === null || b === null) return null;
      return e.op === '+' ? a + b : e.op === '-' ? a - b : e.op === '*' ? a * b : a / b;
    }
  }
}

/** True or false, or null when a metric the rule reads is missing. */
export function evaluateRule(rule: Rule, metrics: Record<string, number>): boolean | null {
  let all = true;
  for (const c of rule.comparisons) {
    const a = value(c.a, metrics);
    const b = value(c.b, metrics);
    if (a === null || b === null) return null;
    const ok = c.op === '<' ? a < b : c.op === '<=' ? a <= b : c.op === '>' ? a > b : a >= b;
    all &&= ok;
  }
  return all;
}
