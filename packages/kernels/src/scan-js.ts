/**
 * The pure-JS implementation of the fused scans (Float32Array loops). Always available; the
 * native addon is held to the same tests.
 *
 * Batch rows never interact in the recurrence; loops run time outermost so that each step
 * streams through one contiguous [B, n] slab of Z, H, dL/dH and dL/dZ.
 *
 * Activation derivatives are read off the saved output h = σ(a) (no pre-activation is kept):
 * relu [h > 0], tanh 1 − h², modReLU [h ≠ 0] (and ∂h/∂b = sign h).
 */
import type { ScanForwardInputs, ScanGradients, ScanImplementation, ScanSpec } from './scan-spec.js';
import { recurrentTransform } from './hadamard-transform.js';

export { fwhtBlocks } from './hadamard-transform.js';

const LINEAR = 0, RELU = 1, TANH = 2, MODRELU = 3;
export const ACT = { linear: LINEAR, relu: RELU, tanh: TANH, modrelu: MODRELU } as const;

/** a ↦ σ(a), element i of the row (modReLU needs its bias). */
export function activate(act: number, a: number, bias: Float32Array | null, i: number): number {
  switch (act) {
    case RELU:
      return a > 0 ? a : 0;
    case TANH:
      return Math.tanh(a);
    case MODRELU: {
      const r = Math.abs(a) + bias![i];
      return r > 0 ? (a > 0 ? r : a < 0 ? -r : 0) : 0;
    }
    default:
      return a;
  }
}

/** The state row h_{t−1} of batch row b: (array, offset), or the shared zero row. */
export function prevRow(t: number, b: number, n: number, stride: number, H: Float32Array, h0: Float32Array | null, zeros: Float32Array): [Float32Array, number] {
  if (t > 0) return [H, (t - 1) * stride + b * n];
  return h0 ? [h0, b * n] : [zeros, 0];
}

/** σ'-weighted gradient of one row: δ = (dH + carry) ⊙ σ'(h), also written to dz; modReLU bias grad. */
export function deltaRow(act: number, dH: Float32Array, H: Float32Array, o: number, carry: Float32Array, c: number, delta: Float32Array, d0: number, dz: Float32Array, dbias: Float32Array | null, n: number): void {
  for (let i = 0; i < n; i++) {
    const gi = dH[o + i] + carry[c + i];
    const h = H[o + i];
    let d: number;
    switch (act) {
      case RELU:
        d = h > 0 ? gi : 0;
        break;
      case TANH:
        d = gi * (1 - h * h);
        break;
      case MODRELU:
        d = h !== 0 ? gi : 0;
        if (h !== 0) dbias![i] += h > 0 ? gi : -gi;
        break;
      default:
        d = gi;
    }
    delta[d0 + i] = d;
    dz[o + i] = d;
  }
}

function forward(spec: ScanSpec, inp: ScanForwardInputs, out: Float32Array): void {
  const { T, B, n, kind } = spec;
  const act = ACT[spec.activation];
  const { z, w, h0, bias } = inp;
  const m = spec.blockSize;
  const scale = kind === 'hadamard' ? 1 / Math.sqrt(m) : 1;
  const stride = B * n;
  const zeros = new Float32Array(n);
  const buf = new Float32Array(4 * n);
  const rec = kind === 'hadamard' ? recurrentTransform(spec, false) : null; // (I ⊗ H_m) v
  // Time outermost: each step streams through one contiguous [B, n] slab. Dense steps take
  // four batch rows at a time so that each load of W serves four rows.
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b += 4) {
      const rows = Math.min(4, B - b);
      if (kind === 'dense') {
        const [a0, o0] = prevRow(t, b, n, stride, out, h0, zeros);
        const [a1, o1] = rows > 1 ? prevRow(t, b + 1, n, stride, out, h0, zeros) : [zeros, 0];
        const [a2, o2] = rows > 2 ? prevRow(t, b + 2, n, stride, out, h0, zeros) : [zeros, 0];
        const [a3, o3] = rows > 3 ? prevRow(t, b + 3, n, stride, out, h0, zeros) : [zeros, 0];
        for (let i = 0; i < n; i++) {
          let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
          const wi = i * n;
          for (let j = 0; j < n; j++) {
            const wv = w[wi + j];
            s0 += wv * a0[o0 + j];
            s1 += wv * a1[o1 + j];
            s2 += wv * a2[o2 + j];
            s3 += wv * a3[o3 + j];
          }
          buf[i] = s0;
          buf[n + i] = s1;
          buf[2 * n + i] = s2;
          buf[3 * n + i] = s3;
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const [a, o] = prevRow(t, b + r, n, stride, out, h0, zeros);
          buf.set(a.subarray(o, o + n), r * n);
          rec!(buf, r * n);
          for (let i = 0; i < n; i++) buf[r * n + i] *= w[i] * scale;
        }
      }
      for (let r = 0; r < rows; r++) {
        const o = t * stride + (b + r) * n;
        for (let i = 0; i < n; i++) out[o + i] = activate(act, buf[r * n + i] + z[o + i], bias, i);
      }
    }
  }
}

function backward(spec: ScanSpec, inp: ScanForwardInputs, H: Float32Array, dH: Float32Array, g: ScanGradients): void {
  const { T, B, n, kind } = spec;
  const act = ACT[spec.activation];
  const { w, h0 } = inp;
  const m = spec.blockSize;
  const scale = kind === 'hadamard' ? 1 / Math.sqrt(m) : 1;
  const { dz, dw, dh0, dbias } = g;
  dw.fill(0);
  if (dbias) dbias.fill(0);
  const carry = new Float32Array(B * n); // dL/dh_t of every row, coming from step t+1
  const delta = new Float32Array(4 * n);
  const buf = new Float32Array(n);
  const zeros = new Float32Array(n);
  const stride = B * n;
  const rec = kind === 'hadamard' ? recurrentTransform(spec, false) : null;
  const recT = kind === 'hadamard' ? recurrentTransform(spec, true) : null; // the carry: (I ⊗ H_mᵀ)
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < B; b += 4) {
      const rows = Math.min(4, B - b);
      delta.fill(0);
      for (let r = 0; r < rows; r++) deltaRow(act, dH, H, t * stride + (b + r) * n, carry, (b + r) * n, delta, r * n, dz, dbias, n);
      if (kind === 'dense') {
        // dW += Σ_r δ_rᵀ h_{t−1,r}: one read-modify-write of dW per four rows.
        if (t > 0 || h0) {
          const [a0, o0] = prevRow(t, b, n, stride, H, h0, zeros);
          const [a1, o1] = rows > 1 ? prevRow(t, b + 1, n, stride, H, h0, zeros) : [zeros, 0];
          const [a2, o2] = rows > 2 ? prevRow(t, b + 2, n, stride, H, h0, zeros) : [zeros, 0];
          const [a3, o3] = rows > 3 ? prevRow(t, b + 3, n, stride, H, h0, zeros) : [zeros, 0];
          for (let i = 0; i < n; i++) {
            const d0 = delta[i], d1 = delta[n + i], d2 = delta[2 * n + i], d3 = delta[3 * n + i];
            if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) continue;
            const wi = i * n;
            for (let j = 0; j < n; j++) dw[wi + j] += d0 * a0[o0 + j] + d1 * a1[o1 + j] + d2 * a2[o2 + j] + d3 * a3[o3 + j];
          }
        }
        // carry_r = δ_r W, four rows of W per read-modify-write of the carry row.
        for (let r = 0; r < rows; r++) {
          const c = (b + r) * n;
          const d = r * n;
          carry.fill(0, c, c + n);
          let i = 0;
          for (; i + 4 <= n; i += 4) {
            const e0 = delta[d + i], e1 = delta[d + i + 1], e2 = delta[d + i + 2], e3 = delta[d + i + 3];
            const w0 = i * n, w1 = w0 + n, w2 = w1 + n, w3 = w2 + n;
            for (let j = 0; j < n; j++) carry[c + j] += e0 * w[w0 + j] + e1 * w[w1 + j] + e2 * w[w2 + j] + e3 * w[w3 + j];
          }
          for (; i < n; i++) {
            const e = delta[d + i];
            const wi = i * n;
            for (let j = 0; j < n; j++) carry[c + j] += e * w[wi + j];
          }
        }
      } else {
        for (let r = 0; r < rows; r++) {
          const c = (b + r) * n;
          const d = r * n;
          if (t > 0 || h0) {
            const [a, o] = prevRow(t, b + r, n, stride, H, h0, zeros);
            buf.set(a.subarray(o, o + n));
            rec!(buf, 0);
            for (let i = 0; i < n; i++) dw[i] += delta[d + i] * buf[i] * scale;
          }
          for (let i = 0; i < n; i++) carry[c + i] = delta[d + i] * w[i];
          recT!(carry, c);
          for (let i = 0; i < n; i++) carry[c + i] *= scale;
        }
      }
    }
  }
  if (dh0) dh0.set(carry);
}

export const jsImplementation: ScanImplementation = {
  name: 'js',
  forward: (spec, inp, out) => forward(spec, inp, out),
  backward: (spec, inp, H, dH, g) => backward(spec, inp, H, dH, g),
};
