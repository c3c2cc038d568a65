/** Command-line arguments of `npm run bench`. */

export interface BenchArgs {
  quick: boolean;
  /** Run only these cases (by name); empty: all. */
  cases: string[];
  /** Timed runs per case (after warm-up); null: the default (5, quick: 1). */
  reps: number | null;
  outDir: string;
  /** apt-get install the PyTorch peer when missing (root only). */
  installPeer: boolean;
  /** Skip the PyTorch peer. */
  noPeer: boolean;
  /** Internal: run one case in this process and print its result. */
  child: string | null;
  list: boolean;
  help: boolean;
  /** Re-render RESULTS.md (into --out-dir) from this result file; runs nothing. */
  render: string | null;
}

export class BenchUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

export const USAGE = `usage: npm run bench -- [--quick] [--case NAME]... [--reps N] [--out-dir DIR] [--no-peer] [--install-peer] [--list]
  --quick          tiny shapes, 1 run per case: a ~1-minute smoke run (asserts nothing about speed)
  --case NAME      run only this case (repeatable; see --list)
  --reps N         timed runs per case after one warm-up (default 5; --quick: 1)
  --out-dir DIR    where results/<date>.json and RESULTS.md go (default: benchmarks/)
  --no-peer        skip the PyTorch peer
  --install-peer   apt-get install python3-torch libopenblas0-pthread when torch is missing (needs root)
  --list           print the case names and exit
  --render FILE    only re-render RESULTS.md (in --out-dir) from a results JSON (+ <out-dir>/notes.md)`;

/** Parse argv (without node and the script). `knownCases` validates --case names. */
export function parseArgs(argv: readonly string[], knownCases: readonly string[], defaultOutDir: string): BenchArgs {
  const a: BenchArgs = { quick: false, cases: [], reps: null, outDir: defaultOutDir, installPeer: false, noPeer: false, child: null, list: false, help: false, render: null };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new BenchUsageError(`${flag}: expected a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    // Accept --flag=value as well as --flag value.
    if (arg.startsWith('--') && eq > 0) {
      return parseArgs([...argv.slice(0, i), arg.slice(0, eq), arg.slice(eq + 1), ...argv.slice(i + 1)], knownCases, defaultOutDir);
    }
    switch (arg) {
      case '--quick':
        a.quick = true;
        break;
      case '--install-peer':
        a.installPeer = true;
        break;
      case '--no-peer':
        a.noPeer = true;
        break;
      case '--list':
        a.list = true;
        break;
      case '--help':
      case '-h':
        a.help = true;
        break;
      case '--case': {
        const v = value(i++, arg);
        if (!knownCases.includes(v)) throw new BenchUsageError(`--case: unknown case '${v}'; expected one of ${knownCases.join(', ')}`);
        if (!a.cases.includes(v)) a.cases.push(v);
        break;
      }
      case '--child': {
        const v = value(i++, arg);
        if (!knownCases.includes(v)) throw new BenchUsageError(`--child: unknown case '${v}'`);
        a.child = v;
        break;
      }
      case '--reps': {
        const v = value(i++, arg);
        const n = Number(v);
        if (!/^\d+$/.test(v) || !Number.isInteger(n) || n < 1 || n > 1000) throw new BenchUsageError(`--reps: expected an integer in 1..1000, got '${v}'`);
        a.reps = n;
        break;
      }
      case '--render': {
        a.render = value(i++, arg);
        break;
      }
      case '--out-dir': {
        const v = value(i++, arg);
        if (v.trim() === '') throw new BenchUsageError('--out-dir: expected a directory, got an empty string');
        a.outDir = v;
        break;
      }
      default:
        throw new BenchUsageError(`unknown argument '${arg}'\n${USAGE}`);
    }
  }
  if (a.installPeer && a.noPeer) throw new BenchUsageError('--install-peer and --no-peer contradict each other');
  return a;
}
