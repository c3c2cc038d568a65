/**
 * The papers' claims that this repository checks (configs/reproduction.yaml), as data: each
 * says in words what the paper claims, the command that re-runs it, which rows of `results/`
 * it reads (a results folder and a config filter), the metric to show, and the rule that
 * makes the verdict. `reason` is for people: why a claim is not yet reproduced or differs.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InputError, parseYamlWith } from '@orthoquant/runtime';
import { parseRule } from './rule.js';

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const claimSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and -'),
    paper: z.string().min(1),
    claim: z.string().min(1),
    /** Commands that re-run it, in order (shown as code). */
    command: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((c) => (Array.isArray(c) ? c : [c])),
    /** The results folder (`results/<sweep>/summary.json`) holding its trials. */
    sweep: z.string().min(1),
    /** Which of those trials (config keys, dotted; a list = any of; null = absent). */
    where: z.record(z.string(), z.union([scalar, z.array(scalar)])).default({}),
    /** The metrics shown as "measured" (summary keys). */
    metric: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((m) => (Array.isArray(m) ? m : [m])),
    /** When it holds for every trial: reproduced (see rule.ts for the grammar). */
    rule: z.string().min(1),
    /** The rule in words, for the reader. */
    ruleText: z.string().optional(),
    /** The paper's number, when a user has it (with its source); shown as "—" otherwise. Never invent one. */
    published: z.object({ value: z.number(), metric: z.string().min(1), source: z.string().min(1) }).strict().optional(),
    /** Why it is not yet reproduced or differs (written by whoever ran it). */
    reason: z.string().optional(),
  })
  .strict();

export const claimsFileSchema = z
  .object({
    title: z.string().default('Reproduction'),
    /** Text under the title (Markdown). */
    intro: z.string().optional(),
    claims: z.array(claimSchema).min(1),
  })
  .strict();

export type Claim = z.infer<typeof claimSchema>;
export type ClaimsFile = z.infer<typeof claimsFileSchema>;

export function parseClaims(text: string, file = '<claims>'): ClaimsFile {
  const parsed = parseYamlWith(text, file, claimsFileSchema);
  const seen = new Set<string>();
  parsed.claims.forEach((c, i) => {
    if (seen.has(c.id)) throw new InputError(`claims.${i}.id: '${c.id}' is used twice`, file);
    seen.add(c.id);
    parseRule(c.rule, `${file}: claims.${i}.rule`);
  });
  return parsed;
}

export function loadClaims(file: string): ClaimsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the claims file (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  return parseClaims(text, file);
}
