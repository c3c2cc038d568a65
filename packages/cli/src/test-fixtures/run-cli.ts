// Runs the CLI from its TypeScript sources in a child process, as the tests drive it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));
/** The repository root: where the CLI runs (experiments/, configs/ resolve from it). */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
}

/**
 * A `cli(args, env?)` that runs `orthoquant …` from the repository root with warn-level logs,
 * `defaults.env` (and the call's own `env`) over this process's environment, and a timeout.
 */
export function cliRunner(defaults: { env?: Record<string, string>; timeout: number }): (args: string[], env?: Record<string, string>) => CliResult {
  return (args, env = {}) => {
    const r = spawnSync(process.execPath, ['--conditions=@orthoquant/source', '--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ORTHOQUANT_LOG_LEVEL: 'warn', ...defaults.env, ...env },
      timeout: defaults.timeout,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
}
