/**
 * The native addon (N-API, C++ with SIMD vector code and a batch split over threads), built by
 * node-gyp when the package is installed (`npm ci` runs our `install` script). When it did not
 * build or does not load, `loadNative()` says why and the JS fallback is used.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { activationCode } from './scan-spec.js';
import type { ScanImplementation } from './scan-spec.js';
import type { LstmImplementation } from './lstm-spec.js';
import type { AffineImplementation } from './affine.js';
import type { ReversibleImplementation } from './scan-reversible.js';
import type { FusedStepImplementation, FusedStepSpec } from './fused-step.js';

/** The functions the addon exports (see native/scan.cc). */
interface Addon {
  forward(kind: number, act: number, T: number, B: number, n: number, m: number, threads: number, z: Float32Array, w: Float32Array, h0: Float32Array | null, bias: Float32Array | null, out: Float32Array, p: number, hp: Int8Array | null): void;
  backward(
    kind: number, act: number, T: number, B: number, n: number, m: number, threads: number,
    w: Float32Array, h0: Float32Array | null, bias: Float32Array | null, H: Float32Array, dH: Float32Array,
    dz: Float32Array, dw: Float32Array, dh0: Float32Array | null, dbias: Float32Array | null, p: number, hp: Int8Array | null,
  ): void;
  reversibleBackward(
    kind: number, T: number, B: number, n: number, m: number, threads: number, z: Float32Array, w: Float32Array, h0: Float32Array | null,
    atStart: number, h: Float32Array, carry: Float32Array, anchorEvery: number, anchors: Float32Array | null, dH: Float32Array, dz: Float32Array, dw: Float32Array,
    p: number, hp: Int8Array | null,
  ): void;
  fusedStepForward(
    T: number, B: number, n: number, m: number, k: number, classes: number, relu: number, anchorEvery: number, threads: number,
    x: Float32Array, U: Float32Array, b: Float32Array, s: Float32Array, h0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    hLast: Float32Array, anchors: Float32Array | null, p: number, hp: Int8Array | null,
  ): number;
  fusedStepBackward(
    T: number, B: number, n: number, m: number, k: number, classes: number, relu: number, anchorEvery: number, threads: number,
    x: Float32Array, U: Float32Array, b: Float32Array, s: Float32Array, h0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    hLast: Float32Array, anchors: Float32Array | null, dy: number,
    dU: Float32Array, db: Float32Array, ds: Float32Array, dh0: Float32Array | null, dV: Float32Array, dc: Float32Array, p: number, hp: Int8Array | null,
  ): void;
  info(): { simd: string; hardwareThreads: number; compiler: string };
  affineForward(N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, c: Float32Array, y: Float32Array): void;
  affineBackward(
    N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, dy: Float32Array,
    dx: Float32Array | null, dw: Float32Array, dc: Float32Array,
  ): void;
  readoutCrossEntropy(
    N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, c: Float32Array, targets: Int32Array,
    scale: number, dx: Float32Array | null, dw: Float32Array | null, dc: Float32Array | null,
  ): number;
  lstmForward(T: number, B: number, n: number, threads: number, gates: Float32Array, w: Float32Array, h0: Float32Array | null, c0: Float32Array | null, H: Float32Array, C: Float32Array, S: Float32Array): void;
  lstmBackward(
    T: number, B: number, n: number, threads: number, w: Float32Array, h0: Float32Array | null, c0: Float32Array | null,
    H: Float32Array, C: Float32Array, S: Float32Array, dH: Float32Array, dgates: Float32Array, dw: Float32Array, dh0: Float32Array | null, dc0: Float32Array | null,
  ): void;
}

/** Package root: src/ and dist/ both sit one level below it. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const addonPath = join(packageRoot, 'build', 'Release', 'orthoquant_kernels.node');
/** Written by scripts/build-native.mjs when the build at install time failed. */
export const buildStatusPath = join(packageRoot, 'build', 'native-status.json');

export interface NativeLoad {
  impl: ScanImplementation | null;
  /** The fused LSTM scan (null when the addon is absent). */
  lstm: LstmImplementation | null;
  /** Affine rows (input projection, readout); null when the addon is absent. */
  affine: AffineImplementation | null;
  /** Reversible BPTT of the orthogonal linear scans; null when the addon is absent. */
  reversible: ReversibleImplementation | null;
  /** The whole HadamRNN training loss (fused-step.ts); null when the addon is absent. */
  fusedStep: FusedStepImplementation | null;
  simd: string;
  hardwareThreads: number;
  reason?: string;
}

let loaded: NativeLoad | null = null;

export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  loaded = tryLoad();
  return loaded;
}

function tryLoad(): NativeLoad {
  if (process.env.ORTHOQUANT_KERNELS_NATIVE === '0') {
    return { impl: null, lstm: null, affine: null, reversible: null, fusedStep: null, simd: 'none', hardwareThreads: 1, reason: 'disabled by ORTHOQUANT_KERNELS_NATIVE=0' };
  }
  if (!existsSync(addonPath)) {
    let reason = `native addon not built (${addonPath} missing)`;
    try {
      const status = JSON.parse(readFileSync(buildStatusPath, 'utf8')) as { ok?: boolean; reason?: string };
      if (status.ok === false && status.reason) reason += `; install-time build failed: ${status.reason}`;
    } catch {
      reason += '; run `npm run build:native -w @orthoquant/kernels`';
    }
    return { impl: null, lstm: null, affine: null, reversible: null, fusedStep: null, simd: 'none', hardwareThreads: 1, reason };
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(addonPath) as Addon;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return { impl: null, lstm: null, affine: null, reversible: null, fusedStep: null, simd: 'none', hardwareThreads: 1, reason: `native addon failed to load: ${msg}` };
  }
  const info = addon.info();
  const kindCode = (k: string) => (k === 'dense' ? 0 : 1);
  // The p-stage of a Hadamard order p·2^k (native/kron.cc): p = 1 and no H_p for powers of two.
  const order = (spec: { p?: number; hp?: Int8Array }) => [spec.p ?? 1, (spec.p ?? 1) > 1 ? (spec.hp ?? null) : null] as const;
  const impl: ScanImplementation = {
    name: 'native',
    forward(spec, inp, out, threads) {
      addon.forward(kindCode(spec.kind), activationCode(spec.activation), spec.T, spec.B, spec.n, spec.blockSize, threads, inp.z, inp.w, inp.h0, inp.bias, out, ...order(spec));
    },
    backward(spec, inp, H, dH, g, threads) {
      addon.backward(
        kindCode(spec.kind), activationCode(spec.activation), spec.T, spec.B, spec.n, spec.blockSize, threads,
        inp.w, inp.h0, inp.bias, H, dH, g.dz, g.dw, g.dh0, g.dbias, ...order(spec),
      );
    },
  };
  const lstm: LstmImplementation = {
    name: 'native',
    forward(spec, inp, out, threads) {
      addon.lstmForward(spec.T, spec.B, spec.n, threads, inp.gates, inp.w, inp.h0, inp.c0, out.H, out.C, out.S);
    },
    backward(spec, inp, saved, dH, g, threads) {
      addon.lstmBackward(spec.T, spec.B, spec.n, threads, inp.w, inp.h0, inp.c0, saved.H, saved.C, saved.S, dH, g.dgates, g.dw, g.dh0, g.dc0);
    },
  };
  const affine: AffineImplementation = {
    name: 'native',
    forward(spec, x, w, c, y, threads) {
      addon.affineForward(spec.N, spec.k, spec.m, spec.relu ? 1 : 0, threads, x, w, c, y);
    },
    backward(spec, x, w, dy, g, threads) {
      addon.affineBackward(spec.N, spec.k, spec.m, spec.relu ? 1 : 0, threads, x, w, dy, g.dx, g.dw, g.dc);
    },
    crossEntropy(spec, x, w, c, targets, scale, g, threads) {
      return addon.readoutCrossEntropy(spec.N, spec.k, spec.m, spec.relu ? 1 : 0, threads, x, w, c, targets, scale, g?.dx ?? null, g?.dw ?? null, g?.dc ?? null);
    },
  };
  const reversible: ReversibleImplementation = {
    name: 'native',
    backward(spec, inp, dH, dz, dw, threads) {
      addon.reversibleBackward(
        kindCode(spec.kind), spec.T, spec.B, spec.n, spec.blockSize, threads, inp.z, inp.w, inp.h0,
        inp.atStart ? 1 : 0, inp.h, inp.carry, inp.anchorEvery, inp.anchors, dH, dz, dw, ...order(spec),
      );
    },
  };
  const head = (spec: FusedStepSpec) => [spec.T, spec.B, spec.n, spec.blockSize, spec.k, spec.classes, spec.relu ? 1 : 0, spec.anchorEvery] as const;
  const fusedStep: FusedStepImplementation = {
    name: 'native',
    forward(spec, inp, hLast, anchors, threads) {
      return addon.fusedStepForward(...head(spec), threads, inp.x, inp.U, inp.b, inp.s, inp.h0, inp.V, inp.c, inp.targets, hLast, anchors, ...order(spec));
    },
    backward(spec, inp, hLast, anchors, dy, g, threads) {
      addon.fusedStepBackward(...head(spec), threads, inp.x, inp.U, inp.b, inp.s, inp.h0, inp.V, inp.c, inp.targets, hLast, anchors, dy, g.dU, g.db, g.ds, g.dh0, g.dV, g.dc, ...order(spec));
    },
  };
  return { impl, lstm, affine, reversible, fusedStep, simd: info.simd, hardwareThreads: info.hardwareThreads };
}
