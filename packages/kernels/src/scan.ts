/**
 * Fused recurrences as single tfjs ops with a hand-written BPTT backward, and the same scans on
 * plain Float32Arrays (which implementation runs, native or JS: implementation.ts).
 *
 * - Forward: one registered kernel runs the whole time loop over preallocated buffers and
 *   returns H [T, B, n]; no per-step op, no per-step tensor.
 * - Backward: one registered kernel runs the reverse loop from dL/dH and the saved H and
 *   returns dL/dZ, dL/dW (or dL/ds), dL/dh0, dL/dbias. No pre-activation is saved.
 * - Copies of T·B·n size: none on wasm and cpu (heap views / stored arrays, see
 *   fused-op.ts); one per input and output on other backends.
 * - Memory: H (forward) and dL/dZ (backward), T·B·n each, plus O(B·n + n²) scratch.
 */
import { tf, setting } from '@orthoquant/runtime';
import { activationCode, checkSpec } from './scan-spec.js';
import { checkHadamardOrder } from './hadamard-transform.js';
import type { Activation, RecurrenceKind, ScanForwardInputs, ScanGradients, ScanSpec } from './scan-spec.js';
import { selectImplementation } from './implementation.js';
import type { KernelImplementation } from './implementation.js';
import { SCAN_IMPLEMENTATIONS, runScanKernel } from './tf-kernels.js';
import { checkReversible, isSignVector } from './scan-reversible.js';
import type { ReversibleInputs } from './scan-reversible.js';
import { REVERSIBLE_IMPLEMENTATIONS, runReversibleKernel } from './tf-reversible.js';

export interface ScanOptions {
  /** σ of the recurrence; default 'linear' (the reference code's cell). */
  activation?: Activation;
  /** modReLU bias b [n]: σ(x)_i = sign(x_i)·max(|x_i| + b_i, 0). Required for 'modrelu'. */
  modreluBias?: tf.Tensor1D;
  /**
   * Reversible BPTT: for a linear recurrence with an exactly orthogonal operator the op keeps z
   * and the last state instead of the T states and the backward pass rebuilds h_{t−1} =
   * (h_t − z_t)Q⁻¹ (see scan-reversible.ts). `hadamardScan` defaults to 'auto': on when the
   * activation is linear and every s is exactly ±1. `denseScan` defaults to false: true asserts
   * WᵀW = I (not checked; with an approximately orthogonal W the rebuilt states drift). Throws
   * when true with a non-linear activation. `ORTHOQUANT_REVERSIBLE=0` turns it off everywhere.
   */
  reversible?: boolean | 'auto';
  /**
   * With reversible BPTT: keep every k-th state as well (⌊T/k⌋ states) and restart the rebuild
   * there, so that rounding drift cannot grow past k steps (0: none). Default 1000: the ds error
   * against the stored-state path stays ≈ 2e-5 at T = 100,000 instead of 4e-3 (RESULTS.md).
   */
  anchorEvery?: number;
}

export interface HadamardScanOptions extends ScanOptions {
  /** Hadamard block size m (2^k, or p·2^k with `p` and `hp`, dividing n); default n. */
  blockSize?: number;
  /**
   * Orders m = p·2^k that are not powers of two (96 = 12·8, 192 = 12·16; Paley 12, 20, 28, …):
   * the order p of H_p, H_m = H_p ⊗ H_{2^k}, and the recurrence s ⊙ (I ⊗ H_m) h/√m by the fast
   * WHT of each 2^k-slice followed by the p × p ±1 stage (hadamard-transform.ts, native/kron.cc).
   */
  p?: number;
  /** H_p, row-major ±1 [p·p] (with p > 1). */
  hp?: Int8Array;
}

// ---------------------------------------------------------------------------------------------
// Plain typed-array layer (benchmarks, integer/inference code).

/**
 * Forward scan on Float32Arrays: H [T·B·n] with H[t] = σ(rec(h_{t−1}) + Z[t]).
 * rec(h) = h Wᵀ (dense) or s ⊙ (h·(I ⊗ H_m))/√m (hadamard). `out` is reused when given.
 */
export function scanForward(spec: ScanSpec, inp: ScanForwardInputs, opts: { out?: Float32Array; implementation?: KernelImplementation } = {}): Float32Array {
  checkSpec(spec, inp, 'scanForward');
  const size = spec.T * spec.B * spec.n;
  const out = opts.out ?? new Float32Array(size);
  if (out.length !== size) throw new Error(`scanForward: out has ${out.length} values, expected ${size}`);
  const { impl, threads } = selectImplementation(SCAN_IMPLEMENTATIONS, opts.implementation);
  impl.forward(spec, inp, out, threads);
  return out;
}

/** Backward scan on Float32Arrays: gradients of L from dL/dH and the forward output H. */
export function scanBackward(
  spec: ScanSpec,
  inp: ScanForwardInputs,
  H: Float32Array,
  dH: Float32Array,
  opts: { out?: Partial<ScanGradients>; implementation?: KernelImplementation } = {},
): ScanGradients {
  checkSpec(spec, inp, 'scanBackward');
  const { T, B, n, kind } = spec;
  const size = T * B * n;
  if (H.length !== size) throw new Error(`scanBackward: H has ${H.length} values, expected ${size}`);
  if (dH.length !== size) throw new Error(`scanBackward: dH has ${dH.length} values, expected ${size}`);
  const g: ScanGradients = {
    dz: opts.out?.dz ?? new Float32Array(size),
    dw: opts.out?.dw ?? new Float32Array(kind === 'dense' ? n * n : n),
    dh0: inp.h0 ? (opts.out?.dh0 ?? new Float32Array(B * n)) : null,
    dbias: spec.activation === 'modrelu' ? (opts.out?.dbias ?? new Float32Array(n)) : null,
  };
  const { impl, threads } = selectImplementation(SCAN_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, inp, H, dH, g, threads);
  return g;
}

// ---------------------------------------------------------------------------------------------
// tfjs ops.

/** Anchor spacing of reversible BPTT unless given (see ScanOptions.anchorEvery). */
export const DEFAULT_ANCHOR_EVERY = 1000;

/** `ORTHOQUANT_REVERSIBLE=0` turns reversible BPTT off; 1 or unset leaves it to the options. */
function reversibleAllowed(): boolean {
  return setting('reversible');
}

function useReversible(kind: RecurrenceKind, where: string, activation: Activation, w: tf.Tensor, opts: ScanOptions): boolean {
  const want = opts.reversible ?? (kind === 'hadamard' ? 'auto' : false);
  if (want !== true && want !== false && want !== 'auto') throw new Error(`${where}: reversible must be true, false or 'auto', got ${String(want)}`);
  if (want === true && activation !== 'linear') throw new Error(`${where}: reversible BPTT needs the linear recurrence, got activation '${activation}'`);
  if (want === false || !reversibleAllowed() || activation !== 'linear') return false;
  if (kind === 'dense') return want === true;
  // Hadamard: exactly orthogonal only when every s is ±1 (true asserts it; 'auto' checks it).
  return want === true || isSignVector(w.dataSync() as Float32Array);
}

function fusedScan(kind: RecurrenceKind, where: string, z: tf.Tensor3D, w: tf.Tensor, h0: tf.Tensor2D | null | undefined, opts: HadamardScanOptions): tf.Tensor3D {
  if (!(z instanceof tf.Tensor) || z.rank !== 3) throw new Error(`${where}: z must be a rank-3 tensor [T, B, n], got ${z instanceof tf.Tensor ? `rank ${z.rank}` : typeof z}`);
  const [T, B, n] = z.shape;
  const activation = opts.activation ?? 'linear';
  activationCode(activation, where);
  if (kind === 'dense' && (w.rank !== 2 || w.shape[0] !== n || w.shape[1] !== n)) {
    throw new Error(`${where}: W must be [${n}, ${n}] to match z [${z.shape.join(', ')}], got [${w.shape.join(', ')}]`);
  }
  if (kind === 'hadamard' && (w.rank !== 1 || w.shape[0] !== n)) {
    throw new Error(`${where}: s must be [${n}] to match z [${z.shape.join(', ')}], got [${w.shape.join(', ')}]`);
  }
  if (h0 && (h0.rank !== 2 || h0.shape[0] !== B || h0.shape[1] !== n)) {
    throw new Error(`${where}: h0 must be [${B}, ${n}], got [${h0.shape.join(', ')}]`);
  }
  const bias = activation === 'modrelu' ? opts.modreluBias : undefined;
  if (activation === 'modrelu' && (!bias || bias.rank !== 1 || bias.shape[0] !== n)) {
    throw new Error(`${where}: activation 'modrelu' needs modreluBias of shape [${n}], got ${bias ? `[${bias.shape.join(', ')}]` : 'none'}`);
  }
  const blockSize = kind === 'hadamard' ? (opts.blockSize ?? n) : n;
  const p = kind === 'hadamard' ? (opts.p ?? 1) : 1;
  if (kind === 'hadamard') checkHadamardOrder({ n, blockSize, p, hp: opts.hp }, where);
  const order = p > 1 ? { p, hp: Array.from(opts.hp!) } : {};
  for (const [name, t] of [['z', z], [kind === 'dense' ? 'W' : 's', w], ['h0', h0], ['modreluBias', bias]] as const) {
    if (t && t.dtype !== 'float32') throw new Error(`${where}: ${name} must be float32, got ${t.dtype}`);
  }
  const { name: implementation, threads } = selectImplementation(SCAN_IMPLEMENTATIONS);
  if (useReversible(kind, where, activation, w, opts)) {
    const anchorEvery = opts.anchorEvery ?? DEFAULT_ANCHOR_EVERY;
    if (!Number.isInteger(anchorEvery) || anchorEvery < 0) throw new Error(`${where}: anchorEvery must be a non-negative integer, got ${anchorEvery}`);
    return runReversibleKernel({ z, w, h0: h0 ?? undefined }, { kind, blockSize, ...order, hasH0: Boolean(h0), anchorEvery, threads, implementation });
  }
  return runScanKernel(
    { z, w, h0: h0 ?? undefined, bias },
    { kind, activation, blockSize, ...order, hasH0: Boolean(h0), hasBias: Boolean(bias), threads, implementation },
  );
}

/**
 * Dense recurrence over T steps as one op: H[t] = σ(h_{t−1} Wᵀ + Z[t]), h_{−1} = h0 (zeros if
 * null). Row-vector batch: each row of H[t] is σ(W h + z) for one sample.
 * - z: [T, B, n] time-major pre-activations (U x_t + b, computed outside); W: [n, n].
 * - Returns H: [T, B, n]; differentiable w.r.t. z, W, h0 and modreluBias.
 */
export function denseScan(z: tf.Tensor3D, W: tf.Tensor2D, h0?: tf.Tensor2D | null, opts: ScanOptions = {}): tf.Tensor3D {
  return fusedScan('dense', 'denseScan', z, W, h0, opts);
}

/**
 * HadamRNN recurrence over T steps as one op: H[t] = σ(s ⊙ (Hblk h_{t−1})/√m + Z[t]),
 * Hblk = I_{n/m} ⊗ H_m (m = blockSize, default n), applied by the fast Walsh–Hadamard
 * transform: O(n log m) additions per row and step, no n×n matrix. H_m is Sylvester's for
 * m = 2^k (symmetric), H_p ⊗ H_{2^k} for m = p·2^k (`p`, `hp`; + a p × p ±1 stage per block).
 * - s: [n] (±1 in HadamRNN; the gradient w.r.t. s is exact for any real s).
 * - Differentiable w.r.t. z, s, h0 and modreluBias.
 */
export function hadamardScan(z: tf.Tensor3D, s: tf.Tensor1D, h0?: tf.Tensor2D | null, opts: HadamardScanOptions = {}): tf.Tensor3D {
  return fusedScan('hadamard', 'hadamardScan', z, s, h0, opts);
}

/**
 * Reversible BPTT on Float32Arrays for a linear scan with an orthogonal operator (hadamard with
 * s = ±1, or dense with WᵀW = I): the gradients from z, the last state hLast [B·n] and dL/dH,
 * with no stored H. `anchors` [⌊T/k⌋·B·n] (the states h_{k−1}, h_{2k−1}, …) bound the drift of
 * the rebuilt states.
 */
export function scanBackwardReversible(
  spec: ScanSpec,
  inp: ScanForwardInputs,
  hLast: Float32Array,
  dH: Float32Array,
  opts: { anchorEvery?: number; anchors?: Float32Array | null; implementation?: KernelImplementation } = {},
): ScanGradients {
  checkSpec(spec, inp, 'scanBackwardReversible');
  const { T, B, n, kind } = spec;
  const carry = new Float32Array(B * n);
  const rin: ReversibleInputs = {
    z: inp.z, w: inp.w, h0: inp.h0, atStart: true, h: hLast.slice(), carry,
    anchorEvery: opts.anchorEvery ?? 0, anchors: opts.anchors ?? null,
  };
  const g: ScanGradients = { dz: new Float32Array(T * B * n), dw: new Float32Array(kind === 'dense' ? n * n : n), dh0: inp.h0 ? carry : null, dbias: null };
  checkReversible(spec, rin, dH, g.dz, g.dw, 'scanBackwardReversible');
  const { impl, threads } = selectImplementation(REVERSIBLE_IMPLEMENTATIONS, opts.implementation);
  impl.backward(spec, rin, dH, g.dz, g.dw, threads);
  return g;
}
