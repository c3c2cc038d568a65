import type { CommandModule, Argv } from 'yargs';
import { openStore, listTrials, getTrial } from '@orthoquant/store';
import type { GlobalArgs } from '../cli.js';
import { existingDb, printTable, fmtNumber } from './common.js';
import { withExamples } from './examples.js';

interface ListArgs extends GlobalArgs {
  filter?: string;
  sweep?: string;
  sort?: string;
  desc: boolean;
  limit: number;
  metrics?: string;
  json: boolean;
}

/** A short label of a trial's config for tables: model type, bits, task, seed. */
export function configLabel(c: Record<string, unknown>): string {
  const model = (c.model ?? {}) as Record<string, unknown>;
  const task = (c.task ?? {}) as Record<string, unknown>;
  const bits = model.bits === null || model.bits === undefined ? '' : ` ${model.bits}b`;
  return `${model.type ?? '?'}${bits} · ${task.name ?? '?'} · seed ${c.seed ?? '?'}`;
}

export const runsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'runs <command>',
  describe: 'List and inspect recorded trials',
  builder: (y) =>
    y
      .command({
        command: 'list',
        describe: 'Trials with their summary metrics (filter: `params.model.bits = 4 and metrics.test_accuracy > 0.9`)',
        builder: (yy: Argv<GlobalArgs>) =>
          withExamples(yy, 'runs list')
            .option('filter', { alias: 'f', type: 'string', describe: 'AND-only filter over params.*, metrics.*, best.*, status, mode' })
            .option('sweep', { type: 'string', describe: 'only trials of this sweep' })
            .option('sort', { type: 'string', describe: 'params.<key>, metrics.<key>, best.<key>, id, status, started, finished' })
            .option('desc', { type: 'boolean', default: false })
            .option('limit', { type: 'number', default: 50 })
            .option('metrics', { type: 'string', describe: 'comma-separated summary keys to show (default: test_* and val_* finals)' })
            .option('json', { type: 'boolean', default: false, describe: 'JSON output (all summary keys)' }),
        handler: (a: unknown) => {
          const args = a as ListArgs;
          const store = openStore(existingDb(args), { readonly: true });
          try {
            const rows = listTrials(store, { where: args.filter, sweep: args.sweep, orderBy: args.sort, desc: args.desc, limit: args.limit });
            if (args.json) return void console.log(JSON.stringify(rows, null, 2));
            const keys = args.metrics
              ? args.metrics.split(',').map((s) => s.trim()).filter(Boolean)
              : [...new Set(rows.flatMap((r) => Object.keys(r.summary)))].filter((k) => /^(test|val)_/.test(k)).sort().slice(0, 6);
            printTable(['id', 'status', 'config', ...keys], rows.map((r) => [r.id, r.status, configLabel(r.config), ...keys.map((k) => fmtNumber(r.summary[k]?.final))]));
            console.log(`\n${rows.length} trial(s)${rows.length === args.limit ? ` (first ${args.limit}; --limit for more)` : ''}`);
          } finally {
            store.close();
          }
        },
      } as never)
      .command({
        command: 'show <id>',
        describe: 'One trial: resolved config, provenance, summary, curves, artifacts (id or config hash prefix)',
        builder: (yy: Argv<GlobalArgs>) => yy.positional('id', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
        handler: (a: unknown) => {
          const args = a as GlobalArgs & { id: string; json: boolean };
          const store = openStore(existingDb(args), { readonly: true });
          try {
            const ref = /^\d+$/.test(args.id) ? Number(args.id) : args.id;
            const t = getTrial(store, ref);
            if (args.json) return void console.log(JSON.stringify(t, null, 2));
            console.log(`trial ${t.id}  ${t.status}  attempts ${t.attempts}  hash ${t.hash.slice(0, 12)}  sweeps: ${t.sweeps.join(', ') || '—'}`);
            if (t.error) console.log(`error: ${t.error}`);
            console.log('\nconfig:\n' + JSON.stringify(t.config, null, 2));
            if (t.provenance) {
              const p = t.provenance;
              console.log(`\nprovenance: orthoquant ${p.packageVersion ?? '?'}, git ${p.gitCommit?.slice(0, 10) ?? '?'}${p.gitDirty ? ' (dirty)' : ''}, backend ${p.backend ?? '?'}, kernels ${p.kernel ?? '?'}, node ${p.nodeVersion ?? '?'}, host ${p.host ?? '?'}`);
            }
            const sum = Object.entries(t.summary);
            if (sum.length) {
              console.log('');
              printTable(['metric', 'final', 'best', 'best step', 'points'], sum.map(([k, v]) => [k, fmtNumber(v.final), fmtNumber(v.best), v.bestStep, v.n]));
            }
            if (t.artifacts.length) {
              console.log('');
              printTable(['artifact', 'path', 'bytes'], t.artifacts.map((x) => [x.kind, x.path, x.bytes]));
            }
          } finally {
            store.close();
          }
        },
      } as never)
      .demandCommand(1, 'name a runs command: list or show') as never,
  handler: () => undefined,
};
