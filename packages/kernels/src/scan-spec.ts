/**
 * The shape of one fused recurrence, shared by the tfjs ops, the plain typed-array layer and
 * both implementations (native addon, JS fallback).
 */

import { checkHadamardOrder } from './hadamard-transform.js';
import { checkArray, checkPositiveIntegers } from './checks.js';

export type Activation = 'linear' | 'relu' | 'tanh' | 'modrelu';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'tanh', 'modrelu'];

/** `dense`: W is [n, n]. `hadamard`: the recurrent operator is diag(s)·(I ⊗ H_m)/√m, s is [n]. */
export type RecurrenceKind = 'dense' | 'hadamard';

export interface ScanSpec {
  kind: RecurrenceKind;
  activation: Activation;
  /** Time steps. */
  T: number;
  /** Batch rows. */
  B: number;
  /** Hidden size. */
  n: number;
  /** Hadamard block size m (2^k, or p·2^k with `p` and `hp`, dividing n); ignored for dense. */
  blockSize: number;
  /** Hadamard orders m = p·2^k, p > 1: the order p of H_p (H_m = H_p ⊗ H_{2^k}); default 1. */
  p?: number;
  /** H_p row-major ±1 [p·p] (p > 1 only). The recurrence is then s ⊙ (I ⊗ H_m) h/√m. */
  hp?: Int8Array;
}

/** Inputs of the forward scan; `w` is W [n·n] (row-major) for dense, s [n] for hadamard. */
export interface ScanForwardInputs {
  z: Float32Array;
  w: Float32Array;
  h0: Float32Array | null;
  /** modReLU bias [n] (modrelu only). */
  bias: Float32Array | null;
}

/** Gradients returned by the backward scan. */
export interface ScanGradients {
  /** dL/dZ [T·B·n]. */
  dz: Float32Array;
  /** dL/dW [n·n] (dense) or dL/ds [n] (hadamard). */
  dw: Float32Array;
  /** dL/dh0 [B·n], or null when there was no h0. */
  dh0: Float32Array | null;
  /** dL/dbias [n] for modrelu, else null. */
  dbias: Float32Array | null;
}

/** What each implementation (native addon, JS fallback) provides, writing into given buffers. */
export interface ScanImplementation {
  readonly name: 'native' | 'js';
  /** H[t] = σ(rec(h_{t−1}) + Z[t]), written to `out` [T·B·n]. */
  forward(spec: ScanSpec, inp: ScanForwardInputs, out: Float32Array, threads: number): void;
  /**
   * BPTT from dL/dH (`dH`) and the forward output `H`. Overwrites `g.dz`, `g.dw`, `g.dh0`
   * (when non-null) and `g.dbias` (when non-null).
   */
  backward(spec: ScanSpec, inp: ScanForwardInputs, H: Float32Array, dH: Float32Array, g: ScanGradients, threads: number): void;
}

export function activationCode(a: Activation, where = 'kernels'): number {
  const i = ACTIVATIONS.indexOf(a);
  if (i < 0) throw new Error(`${where}: activation must be one of ${ACTIVATIONS.join('|')}, got '${String(a)}'`);
  return i;
}

export function isPowerOfTwo(m: number): boolean {
  return Number.isInteger(m) && m >= 1 && (m & (m - 1)) === 0;
}

/** Check a spec and the lengths of its buffers; messages name the offending quantity. */
export function checkSpec(spec: ScanSpec, inp: ScanForwardInputs, where = 'scan'): void {
  const { kind, T, B, n, blockSize: m } = spec;
  checkPositiveIntegers(where, [['T', T], ['B', B], ['n', n]]);
  activationCode(spec.activation, where);
  if (kind === 'hadamard') {
    checkHadamardOrder({ n, blockSize: m, p: spec.p, hp: spec.hp }, where);
  } else if (kind !== 'dense') {
    throw new Error(`${where}: kind must be dense|hadamard, got '${String(kind)}'`);
  }
  checkArray(where, 'z', inp.z, T * B * n);
  checkArray(where, kind === 'dense' ? 'W' : 's', inp.w, kind === 'dense' ? n * n : n);
  if (inp.h0) checkArray(where, 'h0', inp.h0, B * n);
  if (spec.activation === 'modrelu') {
    if (!inp.bias) throw new Error(`${where}: activation 'modrelu' needs a bias of length n = ${n}`);
    checkArray(where, 'modrelu bias', inp.bias, n);
  }
}
