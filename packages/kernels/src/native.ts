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
import type { InferenceImplementation } from './inference.js';
import type { LstmLossImplementation, LstmLossSpec } from './lstm-loss.js';
import { setting } from '@orthoquant/runtime';

/** The functions the addon exports (native/binding.cc lists them; each op's source has its binding). */
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
    T: number, B: number, n: number, m: number, k: number, classes: number, flags: number, anchorEvery: number, threads: number,
    x: Float32Array | Int32Array, U: Float32Array, b: Float32Array, s: Float32Array, h0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    hLast: Float32Array, anchors: Float32Array | null, p: number, hp: Int8Array | null,
  ): number;
  fusedStepBackward(
    T: number, B: number, n: number, m: number, k: number, classes: number, flags: number, anchorEvery: number, threads: number,
    x: Float32Array | Int32Array, U: Float32Array, b: Float32Array, s: Float32Array, h0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    hLast: Float32Array, anchors: Float32Array | null, dy: number,
    dU: Float32Array, db: Float32Array, ds: Float32Array, dh0: Float32Array | null, dV: Float32Array, dc: Float32Array, p: number, hp: Int8Array | null,
  ): void;
  lstmLossForward(
    T: number, B: number, n: number, k: number, classes: number, flags: number, checkpointEvery: number, threads: number,
    x: Float32Array | Int32Array, Wx: Float32Array, b: Float32Array, Wh: Float32Array, h0: Float32Array | null, c0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    checkpoints: Float32Array | null,
  ): number;
  lstmLossBackward(
    T: number, B: number, n: number, k: number, classes: number, flags: number, checkpointEvery: number, threads: number,
    x: Float32Array | Int32Array, Wx: Float32Array, b: Float32Array, Wh: Float32Array, h0: Float32Array | null, c0: Float32Array | null, V: Float32Array, c: Float32Array, targets: Int32Array,
    checkpoints: Float32Array | null, dy: number,
    dWx: Float32Array, db: Float32Array, dWh: Float32Array, dh0: Float32Array | null, dc0: Float32Array | null, dV: Float32Array, dc: Float32Array,
  ): void;
  info(): { simd: string; hardwareThreads: number; compiler: string; cpuAvx2Fma?: boolean; denseAvx512?: boolean };
  affineForward(N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, c: Float32Array, y: Float32Array): void;
  affineBackward(
    N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, dy: Float32Array,
    dx: Float32Array | null, dw: Float32Array, dc: Float32Array,
  ): void;
  readoutCrossEntropy(
    N: number, k: number, m: number, relu: number, threads: number, x: Float32Array, w: Float32Array, c: Float32Array, targets: Int32Array,
    scale: number, dx: Float32Array | null, dw: Float32Array | null, dc: Float32Array | null,
  ): number;
  integerQuantizeInputs(x: Float32Array, scale: number, zeroPoint: number, qmin: number, qmax: number, out: Int32Array): void;
  integerHadamRnn(
    T: number, B: number, n: number, m: number, D: number, O: number, actBits: number, relu: number, readRelu: number, manyToMany: number, phase0: number,
    xq: Int32Array, zp: number, U: Int32Array, bInput: Int32Array, inputRescale: Int32Array, signMask: Int32Array, stepShifts: Int32Array,
    V: Int32Array, cLogit: Int32Array, h: Int32Array, logits: Int32Array,
  ): number;
  integerOrnn(
    T: number, B: number, n: number, D: number, O: number, actBits: number, relu: number, readRelu: number, manyToMany: number,
    xq: Int32Array, zp: number, U: Int32Array, bInput: Int32Array, inputRescale: Int32Array, W: Int32Array, stateRescale: Int32Array,
    V: Int32Array, cLogit: Int32Array, h: Int32Array, logits: Int32Array,
  ): void;
  floatHadamRnn(
    T: number, B: number, n: number, m: number, D: number, O: number, relu: number, readRelu: number, manyToMany: number,
    x: Float32Array, U: Float32Array, b: Float32Array, scaledSigns: Float32Array, V: Float32Array, c: Float32Array, h: Float32Array, logits: Float32Array,
  ): void;
  lstmForward(T: number, B: number, n: number, threads: number, gates: Float32Array, w: Float32Array, h0: Float32Array | null, c0: Float32Array | null, H: Float32Array, C: Float32Array, S: Float32Array): void;
  lstmBackward(
    T: number, B: number, n: number, threads: number, w: Float32Array, h0: Float32Array | null, c0: Float32Array | null,
    H: Float32Array, C: Float32Array, S: Float32Array, dH: Float32Array, dgates: Float32Array, dw: Float32Array, dh0: Float32Array | null, dc0: Float32Array | null,
  ): void;
}

/** Package root: src/ and dist/ both sit one level below it. */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The two builds of the addon (binding.gyp): the baseline one (no -march flag: runs on every CPU
 * of its architecture) and, on x64, the same sources built with -mavx2 -mfma.
 */
export const addonPaths = {
  baseline: join(packageRoot, 'build', 'Release', 'orthoquant_kernels.node'),
  avx2: join(packageRoot, 'build', 'Release', 'orthoquant_kernels_avx2.node'),
} as const;
/** The baseline addon (always loaded first: it says whether the CPU runs the AVX2 build). */
export const addonPath = addonPaths.baseline;
/** Written by scripts/build-native.mjs when the build at install time failed. */
export const buildStatusPath = join(packageRoot, 'build', 'native-status.json');

/** Which build of the addon runs: the baseline one or the AVX2+FMA one. */
export type Isa = keyof typeof addonPaths;

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
  /** The whole LSTM training loss (lstm-loss.ts); null when the addon is absent. */
  lstmLoss: LstmLossImplementation | null;
  /** Integer and float inference engines (inference.ts); null when the addon is absent. */
  inference: InferenceImplementation | null;
  /** The build that was loaded (null when none). */
  isa: Isa | null;
  /** The instruction set that build was compiled for ('sse2', 'avx2+fma', 'neon', …; 'none' without the addon). */
  simd: string;
  /**
   * Whether the dense fused step (denseRnnLoss) can run its matrix products on AVX-512F: the AVX2
   * build on a CPU with AVX-512F (native/gemm-avx512.h). It does unless `ORTHOQUANT_DENSE_AVX512=0`
   * (read at every call: `denseSimd()`).
   */
  denseAvx512: boolean;
  hardwareThreads: number;
  reason?: string;
}

/**
 * The build `ORTHOQUANT_ISA` asks for: auto (default: AVX2+FMA when the CPU has both and the
 * build exists, else baseline), baseline, or avx2 (an error on a CPU without it).
 */
export function requestedIsa(): 'auto' | Isa {
  return setting('isa');
}

let loaded: NativeLoad | null = null;
const byIsa = new Map<Isa, NativeLoad>();

/** The addon this process uses (chosen once, by `ORTHOQUANT_ISA` and the CPU). */
export function loadNative(): NativeLoad {
  if (loaded) return loaded;
  loaded = choose();
  return loaded;
}

/** One build of the addon regardless of `ORTHOQUANT_ISA` (tests compare the builds). */
export function loadNativeIsa(isa: Isa): NativeLoad {
  let r = byIsa.get(isa);
  if (!r) {
    r = isa === 'avx2' ? loadAvx2() : tryLoad(addonPaths.baseline, 'baseline');
    byIsa.set(isa, r);
  }
  return r;
}

function absent(reason: string): NativeLoad {
  return { impl: null, lstm: null, affine: null, reversible: null, fusedStep: null, lstmLoss: null, inference: null, isa: null, simd: 'none', denseAvx512: false, hardwareThreads: 1, reason };
}

function choose(): NativeLoad {
  if (!setting('kernelsNative')) return absent('disabled by ORTHOQUANT_KERNELS_NATIVE=0');
  const want = requestedIsa();
  if (want !== 'auto') return loadNativeIsa(want);
  const base = loadNativeIsa('baseline');
  if (!base.impl || !cpuAvx2Fma || !existsSync(addonPaths.avx2)) return base;
  const fast = loadNativeIsa('avx2');
  return fast.impl ? fast : { ...base, reason: fast.reason };
}

/** The instruction set of the dense fused step's products in this process: 'avx512f' or the build's (`NativeLoad.denseAvx512`). */
export function denseSimd(nat: NativeLoad): string {
  return nat.denseAvx512 && setting('denseAvx512') ? 'avx512f' : nat.simd;
}

/** Set by the baseline addon's info(): whether this CPU runs AVX2 and FMA code. */
let cpuAvx2Fma = false;

function loadAvx2(): NativeLoad {
  const base = loadNativeIsa('baseline');
  if (!base.impl) return base;
  if (!cpuAvx2Fma) return absent('this CPU does not run AVX2+FMA code (ORTHOQUANT_ISA=avx2)');
  if (!existsSync(addonPaths.avx2)) return absent(`the AVX2 build is missing (${addonPaths.avx2}); rebuild with \`npm run build:native -w @orthoquant/kernels\``);
  return tryLoad(addonPaths.avx2, 'avx2');
}

function tryLoad(path: string, isa: Isa): NativeLoad {
  if (!existsSync(path)) {
    let reason = `native addon not built (${path} missing)`;
    try {
      const status = JSON.parse(readFileSync(buildStatusPath, 'utf8')) as { ok?: boolean; reason?: string };
      if (status.ok === false && status.reason) reason += `; install-time build failed: ${status.reason}`;
    } catch {
      reason += '; run `npm run build:native -w @orthoquant/kernels`';
    }
    return absent(reason);
  }
  let addon: Addon;
  try {
    addon = createRequire(import.meta.url)(path) as Addon;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
    return absent(`native addon failed to load: ${msg}`);
  }
  const info = addon.info();
  if (isa === 'baseline') cpuAvx2Fma = info.cpuAvx2Fma === true;
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
  // flags: 1 ReLU readout, 2 last-step readout, 4 index inputs, 8 dense recurrence, bits 4–5 its σ, 64 no AVX-512 (native/fused-step.cc FLAG_*).
  const actCode = { linear: 0, relu: 1, tanh: 2 } as const;
  // 64: the dense products stay on the AVX2 kernels (ORTHOQUANT_DENSE_AVX512=0).
  const flags = (spec: FusedStepSpec) =>
    (spec.relu ? 1 : 0) | (spec.lastOnly ? 2 : 0) | (spec.indexInputs ? 4 : 0) | (spec.kind === 'dense' ? 8 : 0) | (actCode[spec.activation] << 4) | (setting('denseAvx512') ? 0 : 64);
  const head = (spec: FusedStepSpec) => [spec.T, spec.B, spec.n, spec.blockSize, spec.k, spec.classes, flags(spec), spec.anchorEvery] as const;
  const fusedStep: FusedStepImplementation = {
    name: 'native',
    forward(spec, inp, hLast, anchors, threads) {
      return addon.fusedStepForward(...head(spec), threads, inp.x, inp.U, inp.b, inp.s, inp.h0, inp.V, inp.c, inp.targets, hLast, anchors, ...order(spec));
    },
    backward(spec, inp, hLast, anchors, dy, g, threads) {
      addon.fusedStepBackward(...head(spec), threads, inp.x, inp.U, inp.b, inp.s, inp.h0, inp.V, inp.c, inp.targets, hLast, anchors, dy, g.dU, g.db, g.ds, g.dh0, g.dV, g.dc, ...order(spec));
    },
  };
  // flags: 1 ReLU readout, 2 last-step readout, 4 index inputs (native/lstm-loss.cc FLAG_*).
  const lstmHead = (spec: LstmLossSpec) =>
    [spec.T, spec.B, spec.n, spec.k, spec.classes, (spec.relu ? 1 : 0) | (spec.lastOnly ? 2 : 0) | (spec.indexInputs ? 4 : 0), spec.checkpointEvery] as const;
  const lstmLoss: LstmLossImplementation = {
    name: 'native',
    forward(spec, inp, checkpoints, threads) {
      return addon.lstmLossForward(...lstmHead(spec), threads, inp.x, inp.Wx, inp.b, inp.Wh, inp.h0, inp.c0, inp.V, inp.c, inp.targets, checkpoints);
    },
    backward(spec, inp, checkpoints, dy, g, threads) {
      addon.lstmLossBackward(...lstmHead(spec), threads, inp.x, inp.Wx, inp.b, inp.Wh, inp.h0, inp.c0, inp.V, inp.c, inp.targets, checkpoints, dy, g.dWx, g.db, g.dWh, g.dh0, g.dc0, g.dV, g.dc);
    },
  };
  const b = (v: boolean) => (v ? 1 : 0);
  const inference: InferenceImplementation = {
    simd: info.simd,
    quantizeInputs: (x, scale, zeroPoint, qmin, qmax, out) => addon.integerQuantizeInputs(x, scale, zeroPoint, qmin, qmax, out),
    integerHadamRnn: (a) =>
      addon.integerHadamRnn(
        a.T, a.B, a.n, a.blockSize, a.inputSize, a.outputSize, a.actBits, b(a.relu), b(a.readoutRelu), b(a.manyToMany), a.phase0,
        a.xq, a.inputZeroPoint, a.U, a.bInput, a.inputRescale, a.signMask, a.stepShifts, a.V, a.cLogit, a.h, a.logits,
      ),
    integerOrnn: (a) =>
      addon.integerOrnn(
        a.T, a.B, a.n, a.inputSize, a.outputSize, a.actBits, b(a.relu), b(a.readoutRelu), b(a.manyToMany),
        a.xq, a.inputZeroPoint, a.U, a.bInput, a.inputRescale, a.W, a.stateRescale, a.V, a.cLogit, a.h, a.logits,
      ),
    floatHadamRnn: (a) =>
      addon.floatHadamRnn(a.T, a.B, a.n, a.blockSize, a.inputSize, a.outputSize, b(a.relu), b(a.readoutRelu), b(a.manyToMany), a.x, a.U, a.b, a.scaledSigns, a.V, a.c, a.h, a.logits),
  };
  return { impl, lstm, affine, reversible, fusedStep, lstmLoss, inference, isa, simd: info.simd, denseAvx512: info.denseAvx512 === true, hardwareThreads: info.hardwareThreads };
}
