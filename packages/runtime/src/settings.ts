/**
 * Settings from the environment: every variable orthoquant reads, in one table.
 *
 * - Libraries never touch `process.env`; they call `setting(name)`, which returns the typed,
 *   checked value (a bad value is an error naming the variable and what was expected).
 * - A value is parsed once: the parse is kept until the variable's text changes (tests and the
 *   CLI's flags may set a variable while the process runs; the next read sees it).
 * - `childEnv()` is the environment a child process inherits; `setEnvSetting()` sets a variable
 *   for this process and its children (the CLI's `--log-level`).
 * - The README's table of settings is `settingsTable()` (a test keeps the two equal); lint
 *   refuses `process.env` anywhere else outside tests and test fixtures.
 */

export const BACKEND_CHOICES = ['auto', 'gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_FORMATS = ['pretty', 'text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const KERNEL_CHOICES = ['auto', 'native', 'js'] as const;
export type KernelChoice = (typeof KERNEL_CHOICES)[number];

export const FUSED_DENSE_CHOICES = ['auto', '0', '1'] as const;
export type FusedDenseChoice = (typeof FUSED_DENSE_CHOICES)[number];

export const ISA_CHOICES = ['auto', 'baseline', 'avx2'] as const;
export type IsaChoice = (typeof ISA_CHOICES)[number];

/**
 * One of `choices` (case-folded and trimmed when `fold`), or the error
 * `SOURCE: expected one of a<sep>b<sep>c, got 'value'`.
 */
export function parseChoice<C extends string>(choices: readonly C[], value: string, source: string, opts: { sep?: string; fold?: boolean } = {}): C {
  const v = opts.fold ? value.trim().toLowerCase() : value;
  if ((choices as readonly string[]).includes(v)) return v as C;
  throw new Error(`${source}: expected one of ${choices.join(opts.sep ?? '|')}, got '${value}'`);
}

/** '' or 1: on; 0: off. */
function flag(raw: string, name: string): boolean {
  const v = raw.trim();
  if (v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new Error(`${name}: expected 0 or 1, got '${raw}'`);
}

const text = (raw: string): string => raw;

interface SettingDef<T> {
  /** The environment variable. */
  env: string;
  /** The value when the variable is unset or empty. */
  fallback: T;
  /** Parse a non-empty value (throw naming `name` when it is wrong). */
  parse: (raw: string, name: string) => T;
  /** What it does, its values and default, for the README (Markdown, one line). */
  doc: string;
  /** Which package reads it. */
  usedBy: string;
}

const def = <T>(d: SettingDef<T>): SettingDef<T> => d;

/** Every setting orthoquant reads from the environment. */
export const SETTINGS = {
  backend: def<BackendChoice>({
    env: 'ORTHOQUANT_BACKEND',
    fallback: 'auto',
    parse: (raw, name) => parseChoice(BACKEND_CHOICES, raw, name, { fold: true }),
    usedBy: 'runtime, cli',
    doc: 'tfjs backend: `auto` (tfjs-node-gpu → tfjs-node → wasm → cpu, the first that loads), `gpu`, `node`, `wasm`, `cpu`; `--backend` wins. Default `auto`.',
  }),
  testBackend: def<BackendChoice>({
    env: 'ORTHOQUANT_TEST_BACKEND',
    fallback: 'wasm',
    parse: (raw, name) => parseChoice(BACKEND_CHOICES, raw, name, { fold: true }),
    usedBy: 'runtime (test helpers)',
    doc: 'the backend the tests run on. Default `wasm`.',
  }),
  logLevel: def<LogLevel>({
    env: 'ORTHOQUANT_LOG_LEVEL',
    fallback: 'info',
    parse: (raw, name) => parseChoice(LOG_LEVELS, raw, name, { sep: ', ' }),
    usedBy: 'runtime',
    doc: 'terminal log level: `trace`, `debug`, `info`, `warn`, `error`, `fatal`, `silent` (log files always get `debug`); `--log-level` sets it. Default `info` (tests: `warn`).',
  }),
  logFormat: def<LogFormat | undefined>({
    env: 'ORTHOQUANT_LOG_FORMAT',
    fallback: undefined,
    parse: (raw, name) => parseChoice(LOG_FORMATS, raw, name, { sep: ', ' }),
    usedBy: 'runtime',
    doc: 'terminal log format: `pretty` (coloured), `text` (sentences), `json` (the records, on stdout); `--log-format` sets it. Default: `pretty` on a terminal, else `text`.',
  }),
  db: def<string | undefined>({
    env: 'ORTHOQUANT_DB',
    fallback: undefined,
    parse: text,
    usedBy: 'store, cli',
    doc: 'the SQLite store; `--db` wins. Default `./orthoquant.db`.',
  }),
  dataDir: def<string | undefined>({
    env: 'ORTHOQUANT_DATA_DIR',
    fallback: undefined,
    parse: text,
    usedBy: 'tasks',
    doc: 'a folder searched for datasets (IMDB, PTB, GLUE, …) after the task config’s `path` and the `dataDir` option. Unset by default.',
  }),
  tablesDir: def<string | undefined>({
    env: 'ORTHOQUANT_TABLES_DIR',
    fallback: undefined,
    parse: text,
    usedBy: 'cli',
    doc: 'the folder of table specs. Default `./configs/tables` when it exists, else the repository’s.',
  }),
  publishedDir: def<string | undefined>({
    env: 'ORTHOQUANT_PUBLISHED_DIR',
    fallback: undefined,
    parse: text,
    usedBy: 'cli',
    doc: 'the folder of published numbers. Default `./configs/published` when it exists, else the repository’s.',
  }),
  threads: def<number | undefined>({
    env: 'ORTHOQUANT_THREADS',
    fallback: undefined,
    parse: (raw, name) => {
      const t = Number(raw);
      if (!Number.isInteger(t) || t < 1) throw new Error(`${name}: expected a positive integer, got '${raw}'`);
      return t;
    },
    usedBy: 'kernels, sweep',
    doc: 'threads of the native kernels (gradients do not depend on it). Default: the hardware’s; sweep workers get ⌊cores / workers⌋ each unless it is set.',
  }),
  kernels: def<KernelChoice>({
    env: 'ORTHOQUANT_KERNELS',
    fallback: 'auto',
    parse: (raw, name) => parseChoice(KERNEL_CHOICES, raw, name, { fold: true }),
    usedBy: 'kernels',
    doc: 'kernel implementation: `auto` (native when the addon loads, else JS), `native` (an error when it cannot), `js`. Default `auto`.',
  }),
  kernelsNative: def<boolean>({
    env: 'ORTHOQUANT_KERNELS_NATIVE',
    fallback: true,
    parse: flag,
    usedBy: 'kernels (and its install-time build)',
    doc: '`0`: do not build (at install) or load the native addon; the JS kernels run. Default `1`.',
  }),
  isa: def<IsaChoice>({
    env: 'ORTHOQUANT_ISA',
    fallback: 'auto',
    parse: (raw, name) => parseChoice(ISA_CHOICES, raw, name, { fold: true }),
    usedBy: 'kernels',
    doc: 'which build of the native addon loads: `auto` (AVX2+FMA when the CPU has both and that build exists, else the baseline), `baseline`, `avx2` (an error on a CPU without it). Default `auto`.',
  }),
  denseAvx512: def<boolean>({
    env: 'ORTHOQUANT_DENSE_AVX512',
    fallback: true,
    parse: flag,
    usedBy: 'kernels',
    doc: '`0`: the dense fused step (`denseRnnLoss`) runs its matrix products on the AVX2 kernels even where the CPU has AVX-512F (both give the same bits). Default `1`: AVX-512 where the AVX2 build runs on such a CPU.',
  }),
  integerEngine: def<KernelChoice>({
    env: 'ORTHOQUANT_INTEGER_ENGINE',
    fallback: 'auto',
    parse: (raw, name) => parseChoice(KERNEL_CHOICES, raw, name, { fold: true }),
    usedBy: 'integer',
    doc: 'integer inference engine of HadamRNN and dense ORNN models: `auto` (the native one, bit-exact with JS, when the addon loads; else JS), `native` (an error when it cannot), `js`. Default `auto`.',
  }),
  reversible: def<boolean>({
    env: 'ORTHOQUANT_REVERSIBLE',
    fallback: true,
    parse: flag,
    usedBy: 'kernels, models',
    doc: '`0`: no reversible BPTT (the scans keep every hidden state), and so no fused HadamRNN loss. Default `1`.',
  }),
  sharedSaves: def<boolean>({
    env: 'ORTHOQUANT_SHARED_SAVES',
    fallback: true,
    parse: flag,
    usedBy: 'kernels',
    doc: '`0`: on wasm, the tensors our kernels save for the gradient are copied instead of shared. Default `1`.',
  }),
  fusedStep: def<boolean>({
    env: 'ORTHOQUANT_FUSED_STEP',
    fallback: true,
    parse: flag,
    usedBy: 'models',
    doc: '`0`: HadamRNN trains through projection, scan and readout loss instead of the one-op `hadamardRnnLoss` (and `ORTHOQUANT_FUSED_DENSE` has no effect). Default `1`.',
  }),
  fusedDense: def<FusedDenseChoice>({
    env: 'ORTHOQUANT_FUSED_DENSE',
    fallback: 'auto',
    parse: (raw, name) => parseChoice(FUSED_DENSE_CHOICES, raw.trim() === '' ? 'auto' : raw.trim(), name, { fold: true }),
    usedBy: 'models',
    doc: 'dense ORNN/QORNN (σ linear, ReLU or tanh) train through the one-op `denseRnnLoss` with checkpointed BPTT, which keeps no T·B·n tensor and, with its blocked products, is also the faster path (copy n = 128 and pMNIST n = 512): `auto` and `1` always, `0` never (the composed ops). Default `auto`.',
  }),
  fusedLstm: def<boolean>({
    env: 'ORTHOQUANT_FUSED_LSTM',
    fallback: true,
    parse: flag,
    usedBy: 'models',
    doc: '`0`: the LSTM trains through projection, `lstmScan` and readout loss (every T·B·4n activation kept) instead of the one-op `lstmRnnLoss` with checkpointed BPTT; with `ORTHOQUANT_FUSED_STEP=0` too. Default `1`.',
  }),
  fusedRows: def<boolean>({
    env: 'ORTHOQUANT_FUSED_ROWS',
    fallback: true,
    parse: flag,
    usedBy: 'models',
    doc: '`0`: the input projection and readout as tfjs compositions instead of the fused `affineRows` kernel. Default `1`.',
  }),
  fusedLoss: def<boolean>({
    env: 'ORTHOQUANT_FUSED_LOSS',
    fallback: true,
    parse: flag,
    usedBy: 'train',
    doc: '`0`: the loss on the model’s logits instead of the model’s fused readout + cross-entropy. Default `1`.',
  }),
  cc: def<string>({
    env: 'CC',
    fallback: 'cc',
    parse: text,
    usedBy: 'integer (export-c)',
    doc: 'the C compiler that builds and checks exported C. Default `cc`.',
  }),
  slurmJobId: def<string | undefined>({
    env: 'SLURM_JOB_ID',
    fallback: undefined,
    parse: text,
    usedBy: 'sweep (Slurm)',
    doc: 'set by Slurm; names the run that claims trials in `sweep run-task`.',
  }),
  slurmArrayTaskId: def<string | undefined>({
    env: 'SLURM_ARRAY_TASK_ID',
    fallback: undefined,
    parse: text,
    usedBy: 'cli (Slurm)',
    doc: 'set by Slurm; the trial index of `sweep run-task` when `--index` is not given.',
  }),
} as const;

/** Read outside TypeScript (shell and install scripts); listed for the README's table. */
export const SCRIPT_SETTINGS: readonly { env: string; usedBy: string; doc: string }[] = [
  { env: 'ORTHOQUANT_CMD', usedBy: 'Slurm export (`sweep.sbatch`)', doc: 'the command that runs `orthoquant` on the compute nodes. Default `orthoquant`.' },
];

export type SettingName = keyof typeof SETTINGS;
export type SettingValue<K extends SettingName> = (typeof SETTINGS)[K] extends SettingDef<infer T> ? T : never;

const parsed = new Map<SettingName, { raw: string | undefined; value: unknown }>();

/** The variable's text as set, or undefined when unset or empty. */
export function rawSetting(name: SettingName): string | undefined {
  const v = process.env[SETTINGS[name].env];
  return v === undefined || v === '' ? undefined : v;
}

/** The typed value of a setting (its default when unset or empty); a bad value throws. */
export function setting<K extends SettingName>(name: K): SettingValue<K> {
  const raw = rawSetting(name);
  const hit = parsed.get(name);
  if (hit && hit.raw === raw) return hit.value as SettingValue<K>;
  const d = SETTINGS[name] as SettingDef<SettingValue<K>>;
  const value = raw === undefined ? d.fallback : d.parse(raw, d.env);
  parsed.set(name, { raw, value });
  return value;
}

/** Set a setting for this process and the processes it starts (undefined: unset it). */
export function setEnvSetting(name: SettingName, value: string | undefined): void {
  const env = SETTINGS[name].env;
  if (value === undefined) delete process.env[env];
  else process.env[env] = value;
}

/** The environment for a child process: this process's, with `extra` on top. */
export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...extra };
}

/** The README's table of settings (Markdown). */
export function settingsTable(): string {
  const rows = [
    ...Object.values(SETTINGS).map((d) => ({ env: d.env, usedBy: d.usedBy, doc: d.doc })),
    ...SCRIPT_SETTINGS,
  ];
  return ['| variable | read by | meaning |', '|---|---|---|', ...rows.map((r) => `| \`${r.env}\` | ${r.usedBy} | ${r.doc} |`)].join('\n');
}
