import { tf } from '@orthoquant/runtime';
import { quantizeUniform, quantizeUniformArray } from './uniform.js';
import type { ScaleChoice, UniformOptions } from './uniform.js';
import { binarize, binarizeArray, ternary, ternaryArray } from './binary.js';
import type { TernaryOptions } from './binary.js';
import type { SteKind } from './ste.js';

/** How a weight matrix is quantized, as written in a model or trial config. */
export type WeightQuantizerConfig =
  | { kind: 'none' }
  | { kind: 'uniform'; bits: number; scale?: 'max' | number | { percentile: number }; ste?: SteKind; perChannel?: boolean | { axis: number } }
  | { kind: 'binary'; scale?: number | 'mean'; ste?: SteKind }
  | { kind: 'ternary'; threshold: number | { absolute: number }; scale?: 'mean' | 'max' | number; ste?: SteKind };

/** A weight quantizer: call it on a tensor (forward with STE), or on a typed array. */
export interface Quantizer {
  (w: tf.Tensor): tf.Tensor;
  readonly config: WeightQuantizerConfig;
  /**
   * Storage bits per weight for model-size accounting: 32 (none), k (uniform), 1 (binary),
   * 2 (ternary, packed two bits; log2 3 ≈ 1.58 is the entropy bound). Per-tensor or
   * per-channel scales are not included.
   */
  readonly bitsPerWeight: number;
  /** Typed-array twin (forward only); `shape` is needed for per-channel. */
  applyArray(values: Float32Array, shape?: readonly number[]): Float32Array;
  /** One line for logs and tables, e.g. `uniform 4-bit, α = max|w|, identity STE, per tensor`. */
  describe(): string;
}

const KEYS: Record<WeightQuantizerConfig['kind'], readonly string[]> = {
  none: ['kind'],
  uniform: ['kind', 'bits', 'scale', 'ste', 'perChannel'],
  binary: ['kind', 'scale', 'ste'],
  ternary: ['kind', 'threshold', 'scale', 'ste'],
};

const show = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkSteKey(v: unknown, path: string): SteKind | undefined {
  if (v === undefined || v === 'identity' || v === 'clipped') return v;
  throw new Error(`${path}.ste: expected 'identity' or 'clipped', got ${show(v)}`);
}

/**
 * Validate a weight-quantizer config (e.g. parsed from YAML). Errors name the key path and
 * what was expected: `quantizer.bits: expected an integer in 1..16, got 0`.
 */
export function parseWeightQuantizer(input: unknown, path = 'quantizer'): WeightQuantizerConfig {
  if (!isRecord(input)) throw new Error(`${path}: expected an object with a kind, got ${show(input)}`);
  const kind = input.kind;
  if (kind !== 'none' && kind !== 'uniform' && kind !== 'binary' && kind !== 'ternary') {
    throw new Error(`${path}.kind: expected one of none|uniform|binary|ternary, got ${show(kind)}`);
  }
  for (const key of Object.keys(input)) {
    if (!KEYS[kind].includes(key)) throw new Error(`${path}.${key}: unknown key for kind '${kind}' (expected ${KEYS[kind].join(', ')})`);
  }
  const ste = checkSteKey(input.ste, path);
  const withSte = <T extends object>(o: T): T => (ste === undefined ? o : { ...o, ste });
  switch (kind) {
    case 'none':
      return { kind };
    case 'uniform': {
      const bits = input.bits;
      if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 16) {
        throw new Error(`${path}.bits: expected an integer in 1..16, got ${show(bits)}`);
      }
      const out: WeightQuantizerConfig = withSte({ kind, bits });
      const scale = input.scale;
      if (scale !== undefined) {
        const ok =
          scale === 'max' ||
          (typeof scale === 'number' && Number.isFinite(scale) && scale > 0) ||
          (isRecord(scale) && Object.keys(scale).length === 1 && typeof scale.percentile === 'number' && scale.percentile > 0 && scale.percentile <= 100);
        if (!ok) throw new Error(`${path}.scale: expected 'max', a number > 0 or { percentile: p } with p in (0, 100], got ${show(scale)}`);
        out.scale = scale as 'max' | number | { percentile: number };
      }
      const pc = input.perChannel;
      if (pc !== undefined) {
        const ok = typeof pc === 'boolean' || (isRecord(pc) && Object.keys(pc).length === 1 && Number.isInteger(pc.axis));
        if (!ok) throw new Error(`${path}.perChannel: expected true, false or { axis: integer }, got ${show(pc)}`);
        out.perChannel = pc as boolean | { axis: number };
      }
      return out;
    }
    case 'binary': {
      const scale = input.scale;
      if (scale !== undefined && scale !== 'mean' && !(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) {
        throw new Error(`${path}.scale: expected a number > 0 or 'mean', got ${show(scale)}`);
      }
      return withSte(scale === undefined ? { kind } : { kind, scale: scale as number | 'mean' });
    }
    case 'ternary': {
      const t = input.threshold;
      const okT =
        (typeof t === 'number' && t >= 0 && t < 1) ||
        (isRecord(t) && Object.keys(t).length === 1 && typeof t.absolute === 'number' && Number.isFinite(t.absolute) && t.absolute >= 0);
      if (!okT) throw new Error(`${path}.threshold: expected a fraction of max|w| in [0, 1) or { absolute: τ ≥ 0 }, got ${show(t)}`);
      const scale = input.scale;
      if (scale !== undefined && scale !== 'mean' && scale !== 'max' && !(typeof scale === 'number' && Number.isFinite(scale) && scale > 0)) {
        throw new Error(`${path}.scale: expected 'mean', 'max' or a number > 0, got ${show(scale)}`);
      }
      const out: WeightQuantizerConfig = withSte({ kind, threshold: t as number | { absolute: number } });
      if (scale !== undefined) out.scale = scale as 'mean' | 'max' | number;
      return out;
    }
  }
}

function describeScale(scale: ScaleChoice | 'mean' | undefined, fallback: string): string {
  if (scale === undefined) return fallback;
  if (scale === 'max') return 'α = max|w|';
  if (scale === 'mean') return 'α = mean|w|';
  if (typeof scale === 'number') return `α = ${scale}`;
  if ('percentile' in scale) return `α = p${scale.percentile}(|w|)`;
  return 'α per channel';
}

/**
 * Build a weight quantizer from a config (validated by {@link parseWeightQuantizer}).
 *
 * - none: identity (a copy of w), uniform: `quantizeUniform`, binary: `binarize`
 *   (α·sign, α = 1 unless told), ternary: `ternary`.
 * - uniform `perChannel: true` means one α per row (axis 0).
 */
export function makeQuantizer(config: WeightQuantizerConfig | unknown, path = 'quantizer'): Quantizer {
  const cfg = parseWeightQuantizer(config, path);
  const ste = (cfg.kind !== 'none' && cfg.ste) || 'identity';
  let apply: (w: tf.Tensor) => tf.Tensor;
  let applyArray: (v: Float32Array, shape?: readonly number[]) => Float32Array;
  let bitsPerWeight: number;
  let text: string;
  switch (cfg.kind) {
    case 'none':
      apply = (w) => tf.clone(w);
      applyArray = (v) => Float32Array.from(v);
      bitsPerWeight = 32;
      text = 'none (float32)';
      break;
    case 'uniform': {
      const pc = cfg.perChannel;
      const axis = pc === true ? 0 : pc && typeof pc === 'object' ? pc.axis : undefined;
      const opts: UniformOptions = { bits: cfg.bits, scale: cfg.scale ?? 'max', ste, ...(axis === undefined ? {} : { axis }) };
      apply = (w) => quantizeUniform(w, opts);
      applyArray = (v, shape) => quantizeUniformArray(v, opts, shape);
      bitsPerWeight = cfg.bits;
      text = `uniform ${cfg.bits}-bit, ${describeScale(cfg.scale, 'α = max|w|')}, ${ste} STE, ${axis === undefined ? 'per tensor' : `per channel (axis ${axis})`}`;
      break;
    }
    case 'binary': {
      const opts = { scale: cfg.scale ?? 1, ste };
      apply = (w) => binarize(w, opts);
      applyArray = (v) => binarizeArray(v, opts);
      bitsPerWeight = 1;
      text = `binary, ${describeScale(cfg.scale, 'α = 1')}, ${ste} STE`;
      break;
    }
    case 'ternary': {
      const opts: TernaryOptions = { threshold: cfg.threshold, scale: cfg.scale ?? 'mean', ste };
      apply = (w) => ternary(w, opts);
      applyArray = (v) => ternaryArray(v, opts);
      bitsPerWeight = 2;
      const t = typeof cfg.threshold === 'number' ? `τ = ${cfg.threshold}·max|w|` : `τ = ${cfg.threshold.absolute}`;
      text = `ternary, ${t}, ${describeScale(cfg.scale, 'α = mean|w| over kept')}, ${ste} STE`;
      break;
    }
  }
  const q = ((w: tf.Tensor) => apply(w)) as Quantizer;
  Object.defineProperties(q, {
    config: { value: cfg, enumerable: true },
    bitsPerWeight: { value: bitsPerWeight, enumerable: true },
    applyArray: { value: applyArray },
    describe: { value: () => text },
  });
  return q;
}
