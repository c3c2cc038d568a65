/**
 * The reversible linear scan registered with tfjs (see scan-reversible.ts for the math):
 *
 * - `OrthoquantReversibleScan`      inputs [z, w, h0?] → [H, hLast, anchors]
 * - `OrthoquantReversibleScanGrad`  inputs [dy, z, w, h0?, hLast, anchors] → [dz, dw, dh0?]
 *
 * The gradient saves z, w, h0, the last state [B, n] and the anchors (⌊T/k⌋ states, none by
 * default), not H: the op hands H to its consumers and keeps no T·B·n state of its own beyond
 * z (shared, not copied, on wasm). hLast and anchors are dropped from what the op returns.
 */
import { tf } from '@orthoquant/runtime';
import type { RecurrenceKind, ScanImplementation, ScanSpec } from './scan-spec.js';
import type { ReversibleImplementation } from './scan-reversible.js';
import { checkFloat, ioFor, kronOrder, placeholder, withSharedSaves } from './tf-kernels.js';
import type { TensorIo } from './tf-kernels.js';

export const REVERSIBLE_KERNEL = 'OrthoquantReversibleScan';
export const REVERSIBLE_GRAD_KERNEL = 'OrthoquantReversibleScanGrad';

export interface ReversibleAttrs {
  kind: RecurrenceKind;
  blockSize: number;
  /** Hadamard orders p·2^k: p and H_p (row-major ±1); absent for powers of two. */
  p?: number;
  hp?: number[];
  hasH0: boolean;
  /** Anchor spacing k (0: no anchors). */
  anchorEvery: number;
  threads: number;
  implementation: 'native' | 'js';
}

type Info = tf.TensorInfo;

interface Impls {
  scan: { native: ScanImplementation | null; js: ScanImplementation };
  reversible: { native: ReversibleImplementation | null; js: ReversibleImplementation };
}
let impls: Impls | null = null;

function pick<T>(map: { native: T | null; js: T } | undefined, a: ReversibleAttrs): T {
  const impl = map?.[a.implementation];
  if (!impl) throw new Error(`kernels: implementation '${a.implementation}' of the reversible scan is not available`);
  return impl;
}

function specOf(a: ReversibleAttrs, shape: number[]): ScanSpec {
  const [T, B, n] = shape;
  return { kind: a.kind, activation: 'linear', T, B, n, blockSize: a.blockSize, ...kronOrder(a) };
}

function anchorCount(a: ReversibleAttrs, T: number): number {
  return a.anchorEvery > 0 ? Math.floor(T / a.anchorEvery) : 0;
}

function forwardKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ReversibleAttrs;
    const [z, w, h0Info] = Object.keys(inputs).map((k) => inputs[k]) as [Info, Info, Info];
    const h0 = a.hasH0 ? h0Info : undefined;
    for (const [name, t] of Object.entries({ z, w, h0 })) if (t) checkFloat(t, `${REVERSIBLE_KERNEL}: ${name}`);
    const spec = specOf(a, z.shape);
    const { T, B, n } = spec;
    const A = anchorCount(a, T);
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
    const outs = [io.alloc([T, B, n]), io.alloc([B, n]), io.alloc(A > 0 ? [A, B, n] : [1])];
    // Views only after the allocations above (a wasm heap growth would detach earlier ones).
    const H = io.view(outs[0]);
    pick(impls?.scan, a).forward(spec, { z: io.read(z), w: io.read(w), h0: h0 ? io.read(h0) : null, bias: null }, H, a.threads);
    const stride = B * n;
    io.view(outs[1]).set(H.subarray((T - 1) * stride, T * stride));
    const anchors = io.view(outs[2]);
    for (let j = 0; j < A; j++) {
      const t = (j + 1) * a.anchorEvery - 1;
      anchors.set(H.subarray(t * stride, (t + 1) * stride), j * stride);
    }
    if (A === 0) anchors.fill(0);
    return outs.map((o) => io.finish(o));
  };
}

function gradKernel(backendName: string): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const a = attrs as unknown as ReversibleAttrs;
    const [dy, z, w, h0Info, hLast, anchors] = Object.keys(inputs).map((k) => inputs[k]) as [Info, Info, Info, Info, Info, Info];
    const h0 = a.hasH0 ? h0Info : undefined;
    for (const [name, t] of Object.entries({ dy, z, w, h0, hLast, anchors })) if (t) checkFloat(t, `${REVERSIBLE_GRAD_KERNEL}: ${name}`);
    const spec = specOf(a, z.shape);
    const { T, B, n } = spec;
    const io = ioFor(backendName, backend) as TensorIo<unknown>;
    const outs = [io.alloc([T, B, n]), io.alloc(a.kind === 'dense' ? [n, n] : [n])];
    if (h0) outs.push(io.alloc([B, n]));
    const h = io.read(hLast).slice(); // overwritten by the pass
    const carry = h0 ? io.view(outs[2]) : new Float32Array(B * n);
    carry.fill(0);
    const inp = {
      z: io.read(z), w: io.read(w), h0: h0 ? io.read(h0) : null, atStart: true, h, carry,
      anchorEvery: anchorCount(a, T) > 0 ? a.anchorEvery : 0, anchors: anchorCount(a, T) > 0 ? io.read(anchors) : null,
    };
    pick(impls?.reversible, a).backward(spec, inp, io.read(dy), io.view(outs[0]), io.view(outs[1]), a.threads);
    return outs.map((o) => io.finish(o));
  };
}

let gradientRegistered = false;

export function ensureReversibleRegistered(given: Impls): void {
  impls = given;
  const backendName = tf.getBackend();
  if (!tf.getKernel(REVERSIBLE_KERNEL, backendName)) {
    tf.registerKernel({ kernelName: REVERSIBLE_KERNEL, backendName, kernelFunc: forwardKernel(backendName) });
    tf.registerKernel({ kernelName: REVERSIBLE_GRAD_KERNEL, backendName, kernelFunc: gradKernel(backendName) });
  }
  if (gradientRegistered) return;
  gradientRegistered = true;
  tf.registerGradient({
    kernelName: REVERSIBLE_KERNEL,
    inputsToSave: ['0', '1', '2'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const a = attrs as unknown as ReversibleAttrs;
      // Only H is visible to the caller, so only dys[0] matters.
      const dy = (Array.isArray(dys) ? dys[0] : dys) as tf.Tensor;
      const [z, w, h0, hLast, anchors] = saved;
      const outs = tf.engine().runKernel(REVERSIBLE_GRAD_KERNEL, [dy, z, w, h0, hLast, anchors] as unknown as tf.NamedTensorMap, attrs) as tf.Tensor[];
      const [dz, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      return { 0: () => dz, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0) };
    },
  });
}

/** Run the reversible scan on the active backend; returns H (hLast and anchors are dropped). */
export function runReversibleKernel(inputs: { z: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor }, attrs: ReversibleAttrs): tf.Tensor3D {
  const none = placeholder();
  let outs: tf.Tensor[];
  try {
    const list = [inputs.z, inputs.w, inputs.h0 ?? none];
    outs = withSharedSaves(() => tf.engine().runKernel(REVERSIBLE_KERNEL, list as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[]);
  } finally {
    none.dispose();
  }
  const [H, hLast, anchors] = outs;
  tf.dispose([hLast, anchors]);
  return H as tf.Tensor3D;
}
