import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { loadClaims, renderReproduction } from '@orthoquant/reporter';
import type { GlobalArgs } from '../cli.js';
import { setExitCode } from './common.js';
import { EXIT } from '../exit.js';

interface ReproductionArgs extends GlobalArgs {
  claims: string;
  results: string;
  out: string;
  check: boolean;
}

/** A path as the document names it: relative to the document's folder, with forward slashes. */
function shown(path: string, out: string): string {
  const rel = relative(resolve(out, '..'), resolve(path)).split('\\').join('/');
  return rel === '' ? '.' : rel.replace(/\/$/, '');
}

export const reproductionCommand: CommandModule<GlobalArgs, ReproductionArgs> = {
  command: 'reproduction',
  describe: 'Write REPRODUCTION.md from the claims (configs/reproduction.yaml) and results/ — or --check that it is up to date',
  builder: (y) =>
    y
      .option('claims', { type: 'string', default: 'configs/reproduction.yaml', describe: 'the claims file' })
      .option('results', { type: 'string', default: 'results', describe: 'the results folder (`orthoquant results export`)' })
      .option('out', { alias: 'o', type: 'string', default: 'REPRODUCTION.md', describe: 'the document' })
      .option('check', { type: 'boolean', default: false, describe: 'write nothing; exit 1 when the document differs from what the claims and results imply' })
      .example('$0 reproduction --results results/', 'write REPRODUCTION.md')
      .example('$0 reproduction --check', 'in CI: the document matches the committed results') as never,
  handler: (args) => {
    const claims = loadClaims(args.claims);
    const text = renderReproduction(claims, args.results, { claimsFile: shown(args.claims, args.out), resultsDir: shown(args.results, args.out) });
    if (!args.check) {
      writeFileSync(args.out, text);
      console.log(`wrote ${args.out} (${claims.claims.length} claims)`);
      return;
    }
    const current = existsSync(args.out) ? readFileSync(args.out, 'utf8') : null;
    if (current === text) {
      console.log(`${args.out} is up to date (${claims.claims.length} claims)`);
      return;
    }
    console.error(
      current === null
        ? `${args.out} does not exist; write it with: orthoquant reproduction --results ${args.results}`
        : `${args.out} differs from what ${args.claims} and ${args.results}/ imply; write it again with: orthoquant reproduction --results ${args.results}`,
    );
    setExitCode(args, EXIT.failed);
  },
};
