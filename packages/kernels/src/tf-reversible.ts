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
import { jsReversible } from './scan-reversible.js';
import type { ReversibleImplementation } from './scan-reversible.js';
import { jsImplementation } from './scan-js.js';
import { kronOrder } from './tf-kernels.js';
import { checkFloat, defineFusedOp } from './fused-op.js';
import type { FusedAttrs } from './fused-op.js';
import type { OpImplementations } from './implementation.js';

/** Reversible BPTT's implementations. */
export const REVERSIBLE_IMPLEMENTATIONS: OpImplementations<ReversibleImplementation> = { what: 'reversible scan', js: jsReversible, native: (nat) => nat.reversible };

/** The op's: the scan for the forward, reversible BPTT for the gradient. */
const OP_IMPLEMENTATIONS: OpImplementations<{ scan: ScanImplementation; reversible: ReversibleImplementation }> = {
  what: 'reversible scan',
  js: { scan: jsImplementation, reversible: jsReversible },
  native: (nat) => (nat.impl && nat.reversible ? { scan: nat.impl, reversible: nat.reversible } : null),
};

export const REVERSIBLE_KERNEL = 'OrthoquantReversibleScan';
export const REVERSIBLE_GRAD_KERNEL = 'OrthoquantReversibleScanGrad';

export interface ReversibleAttrs extends FusedAttrs {
  kind: RecurrenceKind;
  blockSize: number;
  /** Hadamard orders p·2^k: p and H_p (row-major ±1); absent for powers of two. */
  p?: number;
  hp?: number[];
  hasH0: boolean;
  /** Anchor spacing k (0: no anchors). */
  anchorEvery: number;
}

type Info = tf.TensorInfo;

function specOf(a: ReversibleAttrs, shape: number[]): ScanSpec {
  const [T, B, n] = shape;
  return { kind: a.kind, activation: 'linear', T, B, n, blockSize: a.blockSize, ...kronOrder(a) };
}

function anchorCount(a: ReversibleAttrs, T: number): number {
  return a.anchorEvery > 0 ? Math.floor(T / a.anchorEvery) : 0;
}

export const reversibleOp = defineFusedOp<ReversibleAttrs, { scan: ScanImplementation; reversible: ReversibleImplementation }>({
  kernelName: REVERSIBLE_KERNEL,
  gradKernelName: REVERSIBLE_GRAD_KERNEL,
  implementations: OP_IMPLEMENTATIONS,
  forward: ({ inputs, attrs: a, impl, io }) => {
    const [z, w, h0Info] = inputs as [Info, Info, Info];
    const h0 = a.hasH0 ? h0Info : undefined;
    for (const [name, t] of Object.entries({ z, w, h0 })) if (t) checkFloat(t, `${REVERSIBLE_KERNEL}: ${name}`);
    const spec = specOf(a, z.shape);
    const { T, B, n } = spec;
    const A = anchorCount(a, T);
    const outs = [io.alloc([T, B, n]), io.alloc([B, n]), io.alloc(A > 0 ? [A, B, n] : [1])];
    // Views only after the allocations above (a wasm heap growth would detach earlier ones).
    const H = io.view(outs[0]);
    impl.scan.forward(spec, { z: io.read(z), w: io.read(w), h0: h0 ? io.read(h0) : null, bias: null }, H, a.threads);
    const stride = B * n;
    io.view(outs[1]).set(H.subarray((T - 1) * stride, T * stride));
    const anchors = io.view(outs[2]);
    for (let j = 0; j < A; j++) {
      const t = (j + 1) * a.anchorEvery - 1;
      anchors.set(H.subarray(t * stride, (t + 1) * stride), j * stride);
    }
    if (A === 0) anchors.fill(0);
    return outs.map((o) => io.finish(o));
  },
  backward: ({ inputs, attrs: a, impl, io }) => {
    const [dy, z, w, h0Info, hLast, anchors] = inputs as [Info, Info, Info, Info, Info, Info];
    const h0 = a.hasH0 ? h0Info : undefined;
    for (const [name, t] of Object.entries({ dy, z, w, h0, hLast, anchors })) if (t) checkFloat(t, `${REVERSIBLE_GRAD_KERNEL}: ${name}`);
    const spec = specOf(a, z.shape);
    const { T, B, n } = spec;
    const outs = [io.alloc([T, B, n]), io.alloc(a.kind === 'dense' ? [n, n] : [n])];
    if (h0) outs.push(io.alloc([B, n]));
    const h = io.read(hLast).slice(); // overwritten by the pass
    const carry = h0 ? io.view(outs[2]) : new Float32Array(B * n);
    carry.fill(0);
    const inp = {
      z: io.read(z), w: io.read(w), h0: h0 ? io.read(h0) : null, atStart: true, h, carry,
      anchorEvery: anchorCount(a, T) > 0 ? a.anchorEvery : 0, anchors: anchorCount(a, T) > 0 ? io.read(anchors) : null,
    };
    impl.reversible.backward(spec, inp, io.read(dy), io.view(outs[0]), io.view(outs[1]), a.threads);
    return outs.map((o) => io.finish(o));
  },
  gradient: {
    inputsToSave: ['0', '1', '2'],
    outputsToSave: [false, true, true],
    // Only H is visible to the caller, so only dL/dH matters.
    inputs: (dy, [z, w, h0, hLast, anchors]) => [dy, z, w, h0, hLast, anchors],
    grads: (outs, [, , h0], a) => {
      const [dz, dw] = outs;
      const dh0 = a.hasH0 ? outs[2] : undefined;
      return { 0: () => dz, 1: () => dw, 2: () => dh0 ?? tf.zerosLike(h0) };
    },
  },
});

/** Run the reversible scan on the active backend; returns H (hLast and anchors are dropped). */
export function runReversibleKernel(inputs: { z: tf.Tensor; w: tf.Tensor; h0?: tf.Tensor }, attrs: ReversibleAttrs): tf.Tensor3D {
  const [H, hLast, anchors] = reversibleOp.run([inputs.z, inputs.w, inputs.h0], attrs) as tf.Tensor[];
  tf.dispose([hLast, anchors]);
  return H as tf.Tensor3D;
}
