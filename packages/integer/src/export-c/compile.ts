/**
 * Build and run the generated C with the system compiler: write the files, compile the demo,
 * feed it sequences and read its logits back as an `IntegerOutput` (the JS engines' shape),
 * and measure the code bytes of the model object.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError, setting } from '@orthoquant/runtime';
import type { IntegerOutput } from '../engines/common.js';
import type { IntegerModel } from '../model.js';
import type { GeneratedC } from './generate.js';

/** The flags of the bit-exact tests (and the default build of `eval --engine c`). */
export const STRICT_FLAGS = ['-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-O2'];
/** AddressSanitizer and UBSan, every finding fatal. */
export const SANITIZE_FLAGS = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O1', '-g', '-fno-omit-frame-pointer', '-fsanitize=address,undefined', '-fno-sanitize-recover=all'];

/** The C compiler: `$CC`, else `cc`; null when it cannot be run. */
export function findCompiler(): string | null {
  const cc = setting('cc');
  const r = spawnSync(cc, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? cc : null;
}

/** Write the generated files into `dir` (created if needed). */
export function writeGenerated(gen: GeneratedC, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return Object.entries(gen.files).map(([file, text]) => {
    const path = join(dir, file);
    writeFileSync(path, text);
    return path;
  });
}

export interface CompiledModel {
  binary: string;
  dir: string;
  gen: GeneratedC;
  /** The compiler command line (for reports). */
  command: string;
}

/** Compile `demo_main.c` + the model in `dir` (default: a new temporary folder) to a binary. */
export function compileDemo(gen: GeneratedC, options: { cc?: string; flags?: string[]; dir?: string } = {}): CompiledModel {
  const cc = options.cc ?? findCompiler();
  if (!cc) throw new InputError('no C compiler found: install one (e.g. apt-get install gcc) or set CC', 'cc');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'oq-c-'));
  writeGenerated(gen, dir);
  const binary = join(dir, `${gen.name}_demo`);
  const args = [...(options.flags ?? STRICT_FLAGS), '-o', binary, join(dir, 'demo_main.c'), join(dir, `${gen.name}.c`)];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cc} failed (exit ${r.status ?? r.signal}) on the generated code in ${dir}:\n${r.stderr}${r.error ? String(r.error) : ''}`);
  return { binary, dir, gen, command: [cc, ...args].join(' ') };
}

/**
 * Run a compiled model on B sequences of T steps, time-major `[T, B, inputValues]` (input
 * codes, or token ids for token models), each sequence from the reset state. Returns the
 * logits time-major, as the JS engines do, with the same logit scales.
 */
export function runCompiled(compiled: CompiledModel, model: IntegerModel, inputs: Int32Array, T: number, B: number): IntegerOutput {
  const D = compiled.gen.inputValues;
  if (inputs.length !== T * B * D) throw new InputError(`expected T·B·${D} = ${T * B * D} values (time-major), got ${inputs.length}`, 'inputs');
  const bytes = Buffer.alloc(4 * inputs.length);
  let o = 0;
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++, o += 4) bytes.writeInt32LE(inputs[(t * B + b) * D + d], o);
  const steps = model.readout === 'last' ? 1 : T;
  const O = model.outputSize;
  const r = spawnSync(compiled.binary, ['-b', String(T)], { input: bytes, maxBuffer: 4 * steps * B * O + 1024 });
  if (r.status !== 0) throw new Error(`${compiled.binary} failed (exit ${r.status ?? r.signal}): ${r.stderr?.toString() ?? ''}${r.error ? String(r.error) : ''}`);
  const out = r.stdout;
  if (out.length !== 4 * steps * B * O) throw new Error(`${compiled.binary}: expected ${steps * B * O} logits, got ${out.length / 4}`);
  const logits = new Int32Array(steps * B * O);
  for (let b = 0, i = 0; b < B; b++) for (let k = 0; k < steps; k++) for (let c = 0; c < O; c++, i += 4) logits[(k * B + b) * O + c] = out.readInt32LE(i);
  return { logits, logitScales: logitScales(model, T), T, B };
}

/** Real step of the logits of each readout step, from a reset state (as the JS engines). */
export function logitScales(model: IntegerModel, T: number): Float64Array {
  const steps = model.readout === 'last' ? 1 : T;
  const out = new Float64Array(steps);
  for (let k = 0; k < steps; k++) {
    const t = model.readout === 'last' ? T - 1 : k;
    // HadamRNN: after step t the state is on phase (t + 1) mod 2.
    out[k] = model.kind === 'hadamrnn' ? model.V.scale * model.stateScales[(t + 1) & 1] : model.V.scale * model.stateScale;
  }
  return out;
}

/**
 * Bytes of machine code of the model (the `.text` sections of `PREFIX.c` compiled with
 * `-Os`, as `size -A` reports them), or null when the compiler or `size` is missing.
 */
export function measureCodeBytes(gen: GeneratedC, options: { cc?: string; size?: string; flags?: string[] } = {}): number | null {
  const cc = options.cc ?? findCompiler();
  if (!cc) return null;
  const dir = mkdtempSync(join(tmpdir(), 'oq-c-size-'));
  try {
    writeGenerated(gen, dir);
    const obj = join(dir, `${gen.name}.o`);
    const c = spawnSync(cc, ['-std=c99', '-Os', ...(options.flags ?? []), '-c', '-o', obj, join(dir, `${gen.name}.c`)], { encoding: 'utf8' });
    if (c.status !== 0) return null;
    const s = spawnSync(options.size ?? 'size', ['-A', obj], { encoding: 'utf8' });
    if (s.status !== 0) return null;
    let text = 0;
    for (const line of s.stdout.split('\n')) {
      const m = /^(\.text\S*)\s+(\d+)/.exec(line);
      if (m) text += Number(m[2]);
    }
    return text;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
