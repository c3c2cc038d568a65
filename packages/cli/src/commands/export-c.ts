import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { InputError } from '@orthoquant/runtime';
import { compileDemo, findCompiler, generateC, measureCodeBytes, readIntegerModel, runCompiled, writeGenerated } from '@orthoquant/integer';
import type { IntegerEngine, IntegerModel, IntegerModelFile } from '@orthoquant/integer';
import { withExamples } from './examples.js';
import type { GlobalArgs } from '../cli.js';
import { recordedTrial, setExitCode } from './common.js';
import { EXIT } from '../exit.js';

interface ExportCArgs extends GlobalArgs {
  model: string;
  out: string;
  name: string;
  json: boolean;
}

const EVAL_FLAGS = ['-std=c99', '-O2'];

/** `eval --engine c`: the model as C, built in a temporary folder (removed at exit), as an engine. */
export function compiledEngine(model: IntegerModel): { run: IntegerEngine; command: string } {
  const cc = findCompiler();
  if (!cc) throw new InputError('no C compiler found (set CC, or install gcc/clang); use --engine js', '--engine');
  const dir = mkdtempSync(join(tmpdir(), 'oq-eval-c-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const compiled = compileDemo(generateC(model), { cc, flags: EVAL_FLAGS, dir });
  return { run: (inputs, T, B) => runCompiled(compiled, model, inputs, T, B), command: [cc, ...EVAL_FLAGS].join(' ') };
}

/** A model file path, or a recorded run's latest integer model artifact. */
function resolveModel(args: ExportCArgs): { file: IntegerModelFile; path: string; source: string; note?: string } {
  const looksLikeFile = existsSync(args.model) || /[/\\]|\.oqint$/.test(args.model);
  if (looksLikeFile) {
    if (existsSync(args.model) && !statSync(args.model).isFile()) throw new InputError('expected an integer model file (.oqint), got a directory', args.model);
    return { file: readIntegerModel(args.model), path: args.model, source: args.model };
  }
  const trial = recordedTrial(args, args.model);
  const where = `run ${trial.id}`;
  const models = trial.artifacts.filter((a) => a.kind === 'model').sort((a, b) => a.createdAt - b.createdAt);
  const present = models.filter((a) => existsSync(a.path));
  if (present.length === 0) {
    throw new InputError(
      models.length
        ? `none of its ${models.length} integer model file(s) exists any more (last: ${models.at(-1)!.path})`
        : `no integer model recorded: run \`orthoquant quantize ${trial.id} --act-bits 12\` (or a sweep with mode: ptq) first, then export the .oqint it writes`,
      where,
    );
  }
  const chosen = present.at(-1)!;
  const note = present.length > 1 ? `${where} has ${present.length} integer models; exporting the latest, ${chosen.path} (pass a file to choose another)` : undefined;
  return { file: readIntegerModel(chosen.path), path: chosen.path, source: `${where} (${chosen.path})`, ...(note ? { note } : {}) };
}

export const exportCCommand: CommandModule<GlobalArgs, ExportCArgs> = {
  command: 'export-c <model>',
  describe: 'Write an integer model as dependency-free C99 (PREFIX.h, PREFIX.c, demo_main.c): integer-only, no heap, bit-exact with the JS engine',
  builder: (y) =>
    withExamples(y, 'export-c')
      .positional('model', { type: 'string', demandOption: true, describe: 'integer model file (.oqint), or a run id / config hash prefix with a recorded integer model' })
      .option('out', { type: 'string', demandOption: true, describe: 'folder to write the C files into (created if needed)' })
      .option('name', { type: 'string', default: 'oqmodel', describe: 'C prefix of every symbol and of the file names' })
      .option('json', { type: 'boolean', default: false, describe: 'print the files and sizes as JSON' }) as never,
  handler: (args) => {
    const { file, source, note } = resolveModel(args);
    // Everything is generated (and checked) before anything is written.
    const gen = generateC(file.model, { name: args.name, source });
    if (existsSync(args.out) && !statSync(args.out).isDirectory()) throw new InputError('expected a folder, got an existing file', '--out');
    const written = writeGenerated(gen, args.out);
    const m = file.model;
    const host = measureCodeBytes(gen);
    const arm = measureCodeBytes(gen, { cc: 'arm-none-eabi-gcc', size: 'arm-none-eabi-size', flags: ['-mcpu=cortex-m4', '-mthumb'] });
    const code = arm ?? host;
    const build = `cc -std=c99 -O2 -o ${join(args.out, `${gen.name}_demo`)} ${join(args.out, 'demo_main.c')} ${join(args.out, `${gen.name}.c`)}`;
    if (note) console.error(`orthoquant: note: ${note}`);
    if (args.json) {
      console.log(JSON.stringify({ files: written, kind: m.kind, n: m.n, actBits: m.actBits, source, weightBytes: gen.sizes.weightBytes, codeBytes: { host, cortexM4: arm }, flashBytes: code === null ? null : gen.sizes.weightBytes + code, ramBytes: gen.sizes.stateBytes, build }, null, 2));
    } else {
      const kind = m.kind === 'hadamrnn' && m.blockSize < m.n ? `block-hadamrnn (m=${m.blockSize})` : m.kind;
      console.log(`wrote ${written.join(', ')}`);
      console.log(`model  ${kind}, n=${m.n}, ${m.inputSize} in, ${m.outputSize} out, readout ${m.readout}, ${m.kind === 'lstm' ? 'int8' : `${m.actBits}-bit`} codes · from ${source}`);
      const codeText = code === null ? 'code not measured (no C compiler)' : `${code} code (${arm !== null ? 'arm-none-eabi-gcc -Os -mcpu=cortex-m4 -mthumb' : 'host cc -Os'}, .text)`;
      console.log(`flash  ${code === null ? '≥ ' : ''}${gen.sizes.weightBytes + (code ?? 0)} bytes = ${gen.sizes.weightBytes} const tables + ${codeText}`);
      console.log(`RAM    ${gen.sizes.stateBytes} bytes (${gen.name}_state: state and scratch, owned by the caller) + the step's locals`);
      console.log(`build  ${build}`);
    }
    setExitCode(args, EXIT.ok);
  },
};
