/**
 * Test fixtures for @orthoquant/quantizers (kept out of the main barrel): the contract every
 * quantizer obeys, in the drizzle style — one suite, called by each quantizer's test file,
 * which lists the laws that do not apply to it and why.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRng, tf } from '@orthoquant/runtime';
import { expectNoLeaks, testBackend } from '@orthoquant/runtime/testing';
import { quantizeUniform, quantizeUniformArray, uniformAlpha } from './uniform.js';
import type { UniformOptions } from './uniform.js';
import { binarize, binarizeArray, binaryAlpha, signArray, signSte, ternary, ternaryArray, ternaryParams } from './binary.js';
import type { BinarizeOptions, TernaryOptions } from './binary.js';
import { quantizeAffine, quantizeAffineArray } from './affine.js';
import type { AffineOptions } from './affine.js';

/**
 * Where a quantizer's outputs may land, per element i: `offset[i] + c · step[i]` with c an
 * integer in [cmin[i], cmax[i]]. `channel[i]` groups elements that share one grid.
 * `passLo/passHi` (optional) bound the region where a clipped STE lets gradients through;
 * by default it is where the clamp is inactive, [offset + (cmin − ½)·step, offset + (cmax + ½)·step].
 */
export interface QuantizerGrid {
  step: Float32Array;
  offset: Float32Array;
  cmin: Float64Array;
  cmax: Float64Array;
  channel: Int32Array;
  passLo?: Float32Array;
  passHi?: Float32Array;
}

/** A quantizer as the contract sees it. */
export interface QuantizerSubject {
  /** Outputs take at most 2^bits distinct values per channel. */
  bits: number;
  ste: 'identity' | 'clipped';
  /** Tensor version, forward with its STE. */
  apply(w: tf.Tensor): tf.Tensor;
  /** Typed-array twin (forward only). */
  applyArray(w: Float32Array, shape: readonly number[]): Float32Array;
  /** The grid the quantizer uses for these values (its data-dependent parameters included). */
  grid(w: Float32Array, shape: readonly number[]): QuantizerGrid;
  /** The same quantizer with its data-dependent parameters (α, …) frozen at their value for w. */
  frozen?(w: Float32Array, shape: readonly number[]): QuantizerSubject;
}

export const QUANTIZER_LAWS = [
  'shape',
  'levels',
  'grid',
  'error',
  'idempotent',
  'frozen',
  'ste',
  'twin',
  'zeros',
  'leaks',
] as const;
export type QuantizerLaw = (typeof QUANTIZER_LAWS)[number];

export interface QuantizerContractOptions {
  /** Laws that do not apply, each with the reason (shown as a skipped test). */
  skip?: Partial<Record<QuantizerLaw, string>>;
  /** Shapes of the random inputs (default [6, 10] and [4, 16]); per-channel quantizers want rank ≥ 2. */
  shapes?: readonly (readonly number[])[];
  /** Extra named inputs, e.g. exact ties for this quantizer's grid. */
  inputs?: readonly { name: string; values: Float32Array; shape: readonly number[] }[];
  /** The twin law holds up to this absolute tolerance instead of bit for bit (say why). */
  twinAtol?: number;
  seed?: number;
}

interface Input {
  name: string;
  values: Float32Array;
  shape: readonly number[];
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Random inputs: Gaussian, Gaussian with outliers, and half-grid ties of the subject's own grid. */
function makeInputs(subject: QuantizerSubject, opts: QuantizerContractOptions): Input[] {
  const rng = createRng(opts.seed ?? 1234);
  const shapes = opts.shapes ?? [
    [6, 10],
    [4, 16],
  ];
  const inputs: Input[] = [];
  for (const shape of shapes) {
    const n = size(shape);
    inputs.push({ name: `gaussian ${JSON.stringify(shape)}`, values: rng.normalArray(n, 1), shape });
    const heavy = rng.normalArray(n, 0.5);
    for (let k = 0; k < Math.max(1, n >> 4); k++) heavy[rng.int(n)] *= 8;
    inputs.push({ name: `outliers ${JSON.stringify(shape)}`, values: heavy, shape });
    // Ties: offset + (c + ½)·step of the grid that the Gaussian input gets.
    const base = inputs[inputs.length - 2].values;
    const g = subject.grid(base, shape);
    const ties = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const span = g.cmax[i] - g.cmin[i];
      const c = g.cmin[i] + (span >= 1 ? rng.int(span) : 0);
      ties[i] = g.offset[i] + (c + 0.5) * g.step[i];
    }
    inputs.push({ name: `half-grid ${JSON.stringify(shape)}`, values: ties, shape });
  }
  return [...inputs, ...(opts.inputs ?? [])];
}

/** Assert two float32 arrays are equal bit for bit (the sign of zero included). */
export function expectBitsEqual(actual: Float32Array, expected: Float32Array, what = 'arrays'): void {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${what}: element ${i} is ${actual[i]} (0x${a[i].toString(16)}), expected ${expected[i]} (0x${b[i].toString(16)})`);
  }
}

/** A float32 copy of a tensor's values (the tensor is not disposed). */
export function readF32(t: tf.Tensor): Float32Array {
  return Float32Array.from(t.dataSync());
}

function run(subject: QuantizerSubject, input: Input): Float32Array {
  return tf.tidy(() => subject.apply(tf.tensor(input.values, [...input.shape])).dataSync() as Float32Array).slice();
}

function onGrid(q: number, g: QuantizerGrid, i: number): boolean {
  const step = g.step[i];
  if (step === 0) return q === g.offset[i];
  const c = Math.round((q - g.offset[i]) / step);
  return c >= g.cmin[i] && c <= g.cmax[i] && Math.fround(g.offset[i] + c * step) === q;
}

/**
 * The laws every quantizer obeys. Call inside a test file:
 * `quantizerContract('uniform 4-bit max', () => subject, { skip: { idempotent: 'why' } })`.
 *
 * - shape: output has the input's shape, float32 dtype, finite values.
 * - levels: at most 2^bits distinct outputs per channel.
 * - grid: every output is offset + c·step with an integer c ∈ [cmin, cmax].
 * - error: |q(w) − w| ≤ step/2 (+ float32 rounding) where the clamp is inactive.
 * - idempotent: q(q(w)) = q(w) exactly, every parameter recomputed from q(w). Not a law for
 *   α = max|w| (a positive maximum lands on (2^{b−1} − 1)Δ, so α shrinks) nor for percentiles.
 * - frozen: q_w, the quantizer with its parameters frozen at their value for w, gives
 *   q_w(w) = q(w) and q_w(q(w)) = q(w): the law that holds for data-dependent scales.
 * - ste: `tf.grad` of Σ g·q(w) is g (identity), or g inside the pass region and 0 outside (clipped).
 * - twin: the typed-array twin equals the tensor version bit for bit.
 * - zeros: a zero tensor maps to zeros (no NaN from α = 0).
 * - leaks: forward and backward leave no tensor behind.
 */
export function quantizerContract(name: string, make: () => QuantizerSubject, opts: QuantizerContractOptions = {}): void {
  const skip = opts.skip ?? {};
  describe(`quantizer contract: ${name}`, () => {
    let subject: QuantizerSubject;
    let inputs: Input[];
    before(async () => {
      await testBackend();
      subject = make();
      inputs = makeInputs(subject, opts);
    });
    const law = (id: QuantizerLaw, title: string, fn: () => void | Promise<void>) => {
      const why = skip[id];
      if (why !== undefined) it.skip(`${title} — not applicable: ${why}`, () => {});
      else it(title, fn);
    };

    law('shape', 'keeps shape and float32 dtype; outputs are finite', () => {
      for (const input of inputs) {
        const y = tf.tidy(() => subject.apply(tf.tensor(input.values, [...input.shape])));
        try {
          assert.deepEqual(y.shape, [...input.shape], `${input.name}: shape`);
          assert.equal(y.dtype, 'float32', `${input.name}: dtype`);
          const v = y.dataSync();
          for (let i = 0; i < v.length; i++) assert.ok(Number.isFinite(v[i]), `${input.name}: element ${i} is ${v[i]}`);
        } finally {
          y.dispose();
        }
      }
    });

    law('levels', `takes at most 2^bits distinct values per channel`, () => {
      for (const input of inputs) {
        const q = run(subject, input);
        const g = subject.grid(input.values, input.shape);
        const perChannel = new Map<number, Set<number>>();
        for (let i = 0; i < q.length; i++) {
          const set = perChannel.get(g.channel[i]) ?? new Set<number>();
          set.add(q[i]);
          perChannel.set(g.channel[i], set);
        }
        for (const [ch, set] of perChannel) {
          assert.ok(set.size <= 2 ** subject.bits, `${input.name}: channel ${ch} has ${set.size} levels > 2^${subject.bits}`);
        }
      }
    });

    law('grid', 'outputs lie on the grid offset + c·step, c an integer in [cmin, cmax]', () => {
      for (const input of inputs) {
        const q = run(subject, input);
        const g = subject.grid(input.values, input.shape);
        for (let i = 0; i < q.length; i++) {
          assert.ok(onGrid(q[i], g, i), `${input.name}: element ${i} = ${q[i]} is off the grid (step ${g.step[i]}, offset ${g.offset[i]}, c ∈ [${g.cmin[i]}, ${g.cmax[i]}])`);
        }
      }
    });

    law('error', '|q(w) − w| ≤ step/2 inside the representable range', () => {
      let checked = 0;
      for (const input of inputs) {
        const q = run(subject, input);
        const g = subject.grid(input.values, input.shape);
        for (let i = 0; i < q.length; i++) {
          const w = input.values[i];
          const lo = g.offset[i] + (g.cmin[i] - 0.5) * g.step[i];
          const hi = g.offset[i] + (g.cmax[i] + 0.5) * g.step[i];
          if (!(w >= lo && w <= hi)) continue;
          checked++;
          const tol = g.step[i] / 2 + 4 * 2 ** -24 * Math.max(Math.abs(w), Math.abs(q[i]));
          assert.ok(Math.abs(q[i] - w) <= tol, `${input.name}: element ${i}: |${q[i]} − ${w}| > step/2 = ${g.step[i] / 2}`);
        }
      }
      assert.ok(checked > 0, 'no input fell inside the representable range');
    });

    law('idempotent', 'is idempotent with parameters recomputed: q(q(w)) = q(w)', () => {
      for (const input of inputs) {
        const q = run(subject, input);
        expectBitsEqual(run(subject, { ...input, values: q }), q, `${input.name}: q(q(w)) vs q(w)`);
        expectBitsEqual(subject.applyArray(q, input.shape), q, `${input.name}: twin q(q(w)) vs q(w)`);
      }
    });

    law('frozen', 'parameters frozen at w reproduce q(w) and are idempotent: q_w(q(w)) = q(w)', () => {
      assert.ok(subject.frozen, 'the subject has no frozen(): implement it or skip this law with a reason');
      for (const input of inputs) {
        const q = run(subject, input);
        const f = subject.frozen(input.values, input.shape);
        expectBitsEqual(run(f, input), q, `${input.name}: q_w(w) vs q(w)`);
        expectBitsEqual(run(f, { ...input, values: q }), q, `${input.name}: q_w(q(w)) vs q(w)`);
        expectBitsEqual(f.applyArray(q, input.shape), q, `${input.name}: twin q_w(q(w)) vs q(w)`);
      }
    });

    law('ste', 'STE gradient by tf.grad (identity: upstream unchanged; clipped: zero outside the pass region)', () => {
      const rng = createRng(99);
      let inside = 0;
      let outside = 0;
      for (const input of inputs) {
        const g = subject.grid(input.values, input.shape);
        const up = rng.normalArray(input.values.length);
        const [dsum, dw] = tf.tidy(() => {
          const w = tf.tensor(input.values, [...input.shape]);
          const u = tf.tensor(up, [...input.shape]);
          const a = tf.grad((x: tf.Tensor) => tf.sum(subject.apply(x)))(w).dataSync().slice();
          const b = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(subject.apply(x), u)))(w).dataSync().slice();
          return [a, b];
        });
        for (let i = 0; i < dw.length; i++) {
          const w = input.values[i];
          let pass = true;
          if (subject.ste === 'clipped') {
            const lo = g.passLo ? g.passLo[i] : g.offset[i] + (g.cmin[i] - 0.5) * g.step[i];
            const hi = g.passHi ? g.passHi[i] : g.offset[i] + (g.cmax[i] + 0.5) * g.step[i];
            if (w === lo || w === hi) continue; // the boundary may go either way (ties)
            pass = w > lo && w < hi;
          }
          if (pass) inside++;
          else outside++;
          assert.equal(dsum[i], pass ? 1 : 0, `${input.name}: ∂Σq/∂w[${i}] (w = ${w}) is ${dsum[i]}, expected ${pass ? 1 : 0}`);
          assert.equal(dw[i], pass ? Math.fround(up[i]) : 0, `${input.name}: ∂(g·q)/∂w[${i}] (w = ${w})`);
        }
      }
      assert.ok(inside > 0, 'no element inside the pass region was checked');
      if (subject.ste === 'clipped') assert.ok(outside > 0, 'clipped STE: no input fell outside the pass region');
    });

    law('twin', opts.twinAtol ? `typed-array twin equals the tensor version (atol ${opts.twinAtol})` : 'typed-array twin equals the tensor version bit for bit', () => {
      for (const input of inputs) {
        const q = run(subject, input);
        const t = subject.applyArray(input.values, input.shape);
        if (opts.twinAtol === undefined) expectBitsEqual(t, q, `${input.name}: twin vs tensor`);
        else for (let i = 0; i < q.length; i++) assert.ok(Math.abs(t[i] - q[i]) <= opts.twinAtol, `${input.name}: element ${i}: twin ${t[i]} vs tensor ${q[i]}`);
      }
    });

    law('zeros', 'maps a zero tensor to zeros (no NaN)', () => {
      const shape = opts.shapes?.[0] ?? [3, 5];
      const z = new Float32Array(size(shape));
      const q = run(subject, { name: 'zeros', values: z, shape });
      assert.deepEqual(Array.from(q), Array.from(z), 'tensor version');
      assert.deepEqual(Array.from(subject.applyArray(z, shape)), Array.from(z), 'typed-array twin');
    });

    law('leaks', 'leaks no tensor, forward or backward', async () => {
      const input = inputs[0];
      const w = tf.tensor(input.values, [...input.shape]);
      try {
        await expectNoLeaks(() => subject.apply(w).dispose(), 'forward');
        await expectNoLeaks(() => tf.grad((x: tf.Tensor) => tf.sum(subject.apply(x)))(w).dispose(), 'backward');
      } finally {
        w.dispose();
      }
    });
  });
}

/** Channel index of every element of a row-major array (all 0 without an axis). */
export function channelIndex(shape: readonly number[], axis?: number): Int32Array {
  const n = size(shape);
  const out = new Int32Array(n);
  if (axis === undefined) return out;
  const ax = axis < 0 ? axis + shape.length : axis;
  const inner = size(shape.slice(ax + 1));
  for (let i = 0; i < n; i++) out[i] = Math.floor(i / inner) % shape[ax];
  return out;
}

/** The symmetric uniform quantizer as a contract subject. */
export function uniformSubject(options: UniformOptions): QuantizerSubject {
  const qmin = -(2 ** (options.bits - 1));
  const qmax = 2 ** (options.bits - 1) - 1;
  return {
    bits: options.bits,
    ste: options.ste ?? 'identity',
    apply: (w) => quantizeUniform(w, options),
    applyArray: (w, shape) => quantizeUniformArray(w, options, shape),
    grid: (w, shape) => {
      const alphas = uniformAlpha(w, options, shape);
      const channel = channelIndex(shape, options.axis);
      const step = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) step[i] = alphas[channel[i]] / 2 ** (options.bits - 1);
      return { step, offset: new Float32Array(w.length), cmin: new Float64Array(w.length).fill(qmin), cmax: new Float64Array(w.length).fill(qmax), channel };
    },
    frozen: (w, shape) => {
      const alphas = uniformAlpha(w, options, shape);
      return uniformSubject({ ...options, scale: options.axis === undefined ? alphas[0] : alphas });
    },
  };
}

function constantGrid(n: number, step: number, offset: number, cmin: number, cmax: number, pass?: [number, number]): QuantizerGrid {
  return {
    step: new Float32Array(n).fill(step),
    offset: new Float32Array(n).fill(offset),
    cmin: new Float64Array(n).fill(cmin),
    cmax: new Float64Array(n).fill(cmax),
    channel: new Int32Array(n),
    ...(pass ? { passLo: new Float32Array(n).fill(pass[0]), passHi: new Float32Array(n).fill(pass[1]) } : {}),
  };
}

/** `signSte` as a contract subject: levels −1 + 2c, c ∈ {0, 1}; clipped STE passes for |x| ≤ 1. */
export function signSubject(ste: 'identity' | 'clipped' = 'identity'): QuantizerSubject {
  return {
    bits: 1,
    ste,
    apply: (w) => signSte(w, { ste }),
    applyArray: (w) => signArray(w),
    grid: (w) => constantGrid(w.length, 2, -1, 0, 1, [-1, 1]),
  };
}

/** `binarize` (α·sign) as a contract subject: levels −α + 2αc, c ∈ {0, 1}. */
export function binarizeSubject(options: BinarizeOptions = {}): QuantizerSubject {
  return {
    bits: 1,
    ste: options.ste ?? 'identity',
    apply: (w) => binarize(w, options),
    applyArray: (w) => binarizeArray(w, options),
    grid: (w) => {
      const a = binaryAlpha(w, options);
      return constantGrid(w.length, 2 * a, -a, 0, 1, [-a, a]);
    },
    frozen: (w) => binarizeSubject({ ...options, scale: binaryAlpha(w, options) }),
  };
}

/** `ternary` as a contract subject: levels c·α, c ∈ {−1, 0, 1}; clipped STE passes for |w| ≤ α. */
export function ternarySubject(options: TernaryOptions): QuantizerSubject {
  return {
    bits: 2,
    ste: options.ste ?? 'identity',
    apply: (w) => ternary(w, options),
    applyArray: (w) => ternaryArray(w, options),
    grid: (w) => {
      const a = ternaryParams(w, options).alpha;
      return constantGrid(w.length, a, 0, -1, 1, [-a, a]);
    },
    frozen: (w) => {
      const p = ternaryParams(w, options);
      return ternarySubject({ ...options, threshold: { absolute: p.threshold }, scale: p.alpha });
    },
  };
}

/** `quantizeAffine` as a contract subject: levels s·c', c' ∈ [qmin − z, qmax − z]. */
export function affineSubject(options: AffineOptions): QuantizerSubject {
  const qmin = -(2 ** (options.bits - 1));
  const qmax = 2 ** (options.bits - 1) - 1;
  return {
    bits: options.bits,
    ste: options.ste ?? 'identity',
    apply: (w) => quantizeAffine(w, options),
    applyArray: (w) => quantizeAffineArray(w, options),
    grid: (w) => constantGrid(w.length, Math.fround(options.scale), 0, qmin - options.zeroPoint, qmax - options.zeroPoint),
  };
}
