/**
 * Reversible BPTT for exactly orthogonal linear recurrences, the JS implementation (the native
 * one, native/reversible.cc, is held to the same tests).
 *
 * The linear scan h_t = h_{t−1} Q + z_t with Q orthogonal (Q = Wᵀ for a dense W with WᵀW = I;
 * Q = (I ⊗ H_m)/√m · diag(s) with s = ±1 for HadamRNN) can be run backwards:
 *   u_t = h_t − z_t = h_{t−1} Q,   h_{t−1} = u_t Qᵀ.
 * So the backward pass needs z, the last state and the cotangent, not the T states:
 *   δ_t = dL/dh_t + carry_t = dL/dz_t,  carry_{t−1} = δ_t Qᵀ
 *   hadamard: ds += δ_t ⊙ s ⊙ u_t  (= δ_t ⊙ rec0(h_{t−1})/√m),  h_{t−1} = ((s ⊙ u_t)·(I ⊗ H_m))/√m
 *   dense:    dW += δ_tᵀ h_{t−1},  h_{t−1} = u_t W
 * Rounding errors of the rebuilt states are not amplified (Q is orthogonal); optional anchors
 * (the stored states at t = k−1, 2k−1, …) replace the rebuilt ones when the pass reaches them.
 * `h` and `carry` come in and go out, so a long sequence can be processed in time chunks.
 */
import { recurrentTransform } from './hadamard-transform.js';
import type { ScanSpec } from './scan-spec.js';
import { checkArray } from './checks.js';

export interface ReversibleInputs {
  /** Pre-activations [T·B·n]. */
  z: Float32Array;
  /** W [n·n] (dense, orthogonal) or s [n] (hadamard, every entry ±1). */
  w: Float32Array;
  /** h_{−1} [B·n] (read when `atStart`), or null for zeros. */
  h0: Float32Array | null;
  /** Whether local t = 0 starts the sequence (then h_{−1} = h0 or zero instead of rebuilt). */
  atStart: boolean;
  /** In: h_{T−1} [B·n]; out: the rebuilt h_{−1} (when not `atStart`). */
  h: Float32Array;
  /** In: dL/dh_{T−1} from later steps [B·n] (zeros for the whole sequence); out: dL/dh_{−1}. */
  carry: Float32Array;
  /** Anchor spacing k (0: none). */
  anchorEvery: number;
  /** [⌊T/k⌋·B·n]: h_{k−1}, h_{2k−1}, … (local t), or null. */
  anchors: Float32Array | null;
}

/** Check the buffers of a reversible backward call; messages name the offending quantity. */
export function checkReversible(spec: ScanSpec, inp: ReversibleInputs, dH: Float32Array, dz: Float32Array, dw: Float32Array, where: string): void {
  const { T, B, n, kind } = spec;
  if (spec.activation !== 'linear') throw new Error(`${where}: reversible BPTT needs a linear recurrence, got activation '${spec.activation}'`);
  checkArray(where, 'z', inp.z, T * B * n);
  checkArray(where, kind === 'dense' ? 'W' : 's', inp.w, kind === 'dense' ? n * n : n);
  if (inp.h0) checkArray(where, 'h0', inp.h0, B * n);
  checkArray(where, 'h', inp.h, B * n);
  checkArray(where, 'carry', inp.carry, B * n);
  if (!Number.isInteger(inp.anchorEvery) || inp.anchorEvery < 0) throw new Error(`${where}: anchorEvery must be a non-negative integer, got ${inp.anchorEvery}`);
  const nAnchors = inp.anchorEvery > 0 ? Math.floor(T / inp.anchorEvery) : 0;
  if (nAnchors > 0) checkArray(where, 'anchors', inp.anchors, nAnchors * B * n);
  checkArray(where, 'dH', dH, T * B * n);
  checkArray(where, 'dz', dz, T * B * n);
  checkArray(where, 'dw', dw, kind === 'dense' ? n * n : n);
}

function anchorOffset(inp: ReversibleInputs, t: number, b: number, B: number, n: number): number {
  const k = inp.anchorEvery;
  if (!inp.anchors || k <= 0 || (t + 1) % k !== 0) return -1;
  return (((t + 1) / k - 1) * B + b) * n;
}

/** Reversible backward on Float32Arrays (writes dz and dw, updates h and carry). */
export function reversibleBackwardJs(spec: ScanSpec, inp: ReversibleInputs, dH: Float32Array, dz: Float32Array, dw: Float32Array): void {
  const { T, B, n, kind } = spec;
  const m = spec.blockSize;
  const scale = 1 / Math.sqrt(m);
  const { z, w, h0, h, carry } = inp;
  const stride = B * n;
  const acc = new Float64Array(dw.length);
  const d = new Float32Array(n);
  const u = new Float32Array(n);
  const prev = new Float32Array(n);
  const recT = kind === 'hadamard' ? recurrentTransform(spec, true) : null; // Q⁻¹: (I ⊗ H_mᵀ)
  for (let t = T - 1; t >= 0; t--) {
    const rebuild = t > 0 || !inp.atStart;
    for (let b = 0; b < B; b++) {
      const o = t * stride + b * n;
      const r = b * n;
      for (let i = 0; i < n; i++) {
        d[i] = dH[o + i] + carry[r + i];
        dz[o + i] = d[i];
        u[i] = h[r + i] - z[o + i];
      }
      const a = t > 0 ? anchorOffset(inp, t - 1, b, B, n) : -1;
      if (kind === 'hadamard') {
        for (let i = 0; i < n; i++) u[i] *= w[i]; // s ⊙ u = rec0(h_{t−1})/√m
        if (rebuild || h0) for (let i = 0; i < n; i++) acc[i] += d[i] * u[i];
        for (let i = 0; i < n; i++) carry[r + i] = d[i] * w[i];
        recT!(carry, r);
        for (let i = 0; i < n; i++) carry[r + i] *= scale;
        if (rebuild) {
          if (a >= 0) h.set(inp.anchors!.subarray(a, a + n), r);
          else {
            h.set(u, r);
            recT!(h, r);
            for (let i = 0; i < n; i++) h[r + i] *= scale;
          }
        }
      } else {
        // carry = δ W and (rebuilt) h_{t−1} = u W, then dW += δᵀ h_{t−1}.
        carry.fill(0, r, r + n);
        if (rebuild) prev.fill(0);
        for (let k = 0; k < n; k++) {
          const dk = d[k];
          const uk = u[k];
          const wk = k * n;
          for (let j = 0; j < n; j++) {
            carry[r + j] += dk * w[wk + j];
            if (rebuild) prev[j] += uk * w[wk + j];
          }
        }
        if (rebuild && a >= 0) prev.set(inp.anchors!.subarray(a, a + n));
        const hp = rebuild ? prev : h0 ? h0.subarray(r, r + n) : null;
        if (hp) {
          for (let i = 0; i < n; i++) {
            const di = d[i];
            if (di === 0) continue;
            const wi = i * n;
            for (let j = 0; j < n; j++) acc[wi + j] += di * hp[j];
          }
        }
        if (rebuild) h.set(prev, r);
      }
    }
  }
  for (let i = 0; i < dw.length; i++) dw[i] = acc[i];
}

/** What each implementation (native addon, JS fallback) provides. */
export interface ReversibleImplementation {
  readonly name: 'native' | 'js';
  /** Overwrites dz [T·B·n] and dw (dW [n·n] or ds [n]); updates `inp.h` and `inp.carry`. */
  backward(spec: ScanSpec, inp: ReversibleInputs, dH: Float32Array, dz: Float32Array, dw: Float32Array, threads: number): void;
}

export const jsReversible: ReversibleImplementation = {
  name: 'js',
  backward: (spec, inp, dH, dz, dw) => reversibleBackwardJs(spec, inp, dH, dz, dw),
};

/** Whether every entry of s is exactly ±1 (the Hadamard operator is then exactly orthogonal). */
export function isSignVector(s: Float32Array): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] !== 1 && s[i] !== -1) return false;
  return true;
}
