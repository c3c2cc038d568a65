import { writeFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { openStore, listTrials } from '@orthoquant/store';
import type { GlobalArgs } from '../cli.js';
import { existingDb } from './common.js';

interface ExportArgs extends GlobalArgs {
  format: 'csv' | 'jsonl';
  filter?: string;
  sweep?: string;
  out?: string;
}

function flatten(obj: unknown, prefix: string, out: Record<string, unknown>): void {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : obj;
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export',
  describe: 'Export trials (config + summary) as CSV (one column per config key and metric) or JSON lines',
  builder: (y) =>
    y
      .option('format', { type: 'string', choices: ['csv', 'jsonl'] as const, default: 'csv' as const })
      .option('filter', { alias: 'f', type: 'string', describe: 'same grammar as `runs list`' })
      .option('sweep', { type: 'string' })
      .option('out', { alias: 'o', type: 'string', describe: 'file (stdout by default)' }) as never,
  handler: (args) => {
    const store = openStore(existingDb(args), { readonly: true });
    let text: string;
    try {
      const rows = listTrials(store, { where: args.filter, sweep: args.sweep });
      if (args.format === 'jsonl') {
        text = rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
      } else {
        const flat = rows.map((r) => {
          const o: Record<string, unknown> = { id: r.id, status: r.status, mode: r.mode, hash: r.hash };
          flatten(r.config, 'params', o);
          for (const [k, v] of Object.entries(r.summary)) {
            o[`final.${k}`] = v.final;
            o[`best.${k}`] = v.best;
          }
          return o;
        });
        const cols = [...new Set(flat.flatMap((o) => Object.keys(o)))];
        text = [cols.join(','), ...flat.map((o) => cols.map((c) => csvField(o[c])).join(','))].join('\n') + '\n';
      }
    } finally {
      store.close();
    }
    if (args.out) writeFileSync(args.out, text);
    else process.stdout.write(text);
  },
};
