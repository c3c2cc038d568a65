import { existsSync } from 'node:fs';
import { InputError, isInputError } from '@orthoquant/runtime';
import { createTask } from '@orthoquant/tasks';
import type { ConfigRecord, CreateTaskOptions, Task } from '@orthoquant/tasks';
import { openStore, getTrial } from '@orthoquant/store';
import type { GlobalArgs } from '../cli.js';

/** Handlers report their exit code through the parsed arguments (see cli.ts). */
export function setExitCode(args: object, code: number): void {
  (args as { __exitCode?: number }).__exitCode = code;
}

/** The store must exist for read-only commands: say so instead of creating an empty one. */
export function existingDb(args: GlobalArgs): string {
  if (!existsSync(args.db)) {
    throw new InputError(`no experiment store at '${args.db}' (run a sweep first, or pass --db FILE / ORTHOQUANT_DB)`, '--db');
  }
  return args.db;
}

/** A recorded trial by id (all digits) or config hash prefix, read from the existing store; a miss is bad input naming the reference. */
export function recordedTrial(args: GlobalArgs, ref: string): ReturnType<typeof getTrial> {
  const store = openStore(existingDb(args), { readonly: true });
  try {
    return getTrial(store, /^\d+$/.test(ref) ? Number(ref) : ref);
  } catch (e) {
    throw new InputError((e as Error).message, `run '${ref}'`);
  } finally {
    store.close();
  }
}

/** Print rows as an aligned text table (stdout). */
export function printTable(headers: string[], rows: (string | number | null)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null ? '—' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(headers));
  console.log(widths.map((w) => '─'.repeat(w)).join('  '));
  for (const r of cells) console.log(line(r));
}

export function fmtNumber(v: number | null | undefined, digits = 4): string | null {
  if (v === null || v === undefined || !Number.isFinite(v)) return null;
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toFixed(digits);
}

/**
 * `createTask` for a config the user gave (flags, a file's metadata, a recorded run): its
 * errors name the key path and mean bad input (exit 2), whatever class the task threw.
 */
export function taskFromConfig(config: Record<string, unknown>, options: CreateTaskOptions): Task {
  try {
    return createTask(config as ConfigRecord, options);
  } catch (e) {
    if (isInputError(e) || !(e instanceof Error)) throw e;
    throw new InputError(e.message);
  }
}
