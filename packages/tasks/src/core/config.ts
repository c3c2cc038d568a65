/**
 * The task part of a config (`task:`), built on the shared config layer of `runtime`. Each
 * task declares its keys, defaults and checks as a zod schema (`copyTaskSchema`, …); its
 * TypeScript types are inferred from it (`z.input`: what a user writes; `z.output`: the
 * resolved config the task reads). Every message names the key path, what was expected and
 * what was given: `task.K: expected an integer ≥ 1, got 0`.
 *
 * Checks that need the data (a size larger than the split found on disk) stay in the tasks and
 * use `configError`.
 */
import { z } from 'zod';
import { issueMessages, show } from '@orthoquant/runtime';

/** Any JSON-like config object (from YAML, a CLI flag or code). */
export type ConfigRecord = Readonly<Record<string, unknown>>;

export function configError(path: string, expected: string, got: unknown): Error {
  return new Error(`${path}: expected ${expected}, got ${show(got)}`);
}

/**
 * A key with a default: the default stands in for an absent key and for `null` (YAML's
 * `key:` with nothing after it), as the task readers always did.
 */
export function withDefault<S extends z.ZodType>(schema: S, value: z.output<S>) {
  return schema.nullish().transform((v): z.output<S> => (v ?? value) as z.output<S>);
}

/**
 * A task's schema: its keys (unknown keys are errors naming the task and the keys it knows)
 * and `refine`, the checks between keys, which runs once every key is valid. `issue(key,
 * message)` reports a problem at a key.
 */
export function taskSchema<Shape extends z.ZodRawShape>(shape: Shape, refine?: (cfg: z.output<z.ZodObject<Shape>>, issue: (key: keyof Shape & string, message: string) => void) => void) {
  const schema = z.strictObject(shape);
  if (!refine) return schema;
  return schema.superRefine((cfg, ctx) => refine(cfg, (key, message) => ctx.addIssue({ code: 'custom', path: [key], message, input: (cfg as Record<string, unknown>)[key] })));
}

/** The keys a task schema knows, in declaration order. */
function knownKeys(schema: z.ZodType): string[] {
  // a refined object keeps its shape (zod 4 refinements do not wrap the object)
  return Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape);
}

/**
 * A task schema's issues with unknown keys written as the task readers wrote them: one issue a
 * key, `unknown key for task 'copy' (expected one of name, T, …)`.
 */
export function taskIssues(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], name: unknown): z.core.$ZodIssue[] {
  return issues.flatMap((iss): z.core.$ZodIssue[] =>
    iss.code === 'unrecognized_keys'
      ? iss.keys.map((k) => ({ code: 'custom', path: [...iss.path, k], message: `unknown key for task '${String(name)}' (expected one of ${knownKeys(schema).join(', ')})`, input: undefined }))
      : [iss],
  );
}

/**
 * Validate a task config with its schema and fill in its defaults. Throws an `Error` listing
 * every problem with its key path (`path` first: `task`, `trial.task`).
 */
export function parseTaskPart<S extends z.ZodType>(schema: S, cfg: unknown, path: string): z.output<S> {
  const r = schema.safeParse(cfg);
  if (r.success) return r.data;
  const name = cfg !== null && typeof cfg === 'object' ? (cfg as ConfigRecord).name : undefined;
  throw new Error(issueMessages(taskIssues(schema, r.error.issues, name), [path]).join('; '));
}

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
