/**
 * Which implementation the kernels run — the native addon or the JS loops — and with how many
 * threads: the one selector every op goes through. The choice is `setKernelImplementation`, else
 * `ORTHOQUANT_KERNELS` (auto: native when the addon loads, else JS with a warning logged once);
 * threads are `setKernelThreads`, else `ORTHOQUANT_THREADS`, else the hardware's.
 *
 * Each op family (scan, LSTM, affine rows, …) is an `OpImplementations`: its JS implementation
 * and how to get its native one from the addon. `selectImplementation(family)` picks one for a
 * call; the registered tfjs kernels resolve the name they were given (`attrs.implementation`)
 * through the same family (`implementationNamed`).
 */
import { log, setting } from '@orthoquant/runtime';
import { denseSimd, loadNative } from './native.js';
import type { NativeLoad } from './native.js';

export type KernelImplementation = 'native' | 'js';

/** One op family's implementations: JS (always there) and native (null when the addon lacks it). */
export interface OpImplementations<I> {
  /** The op, as messages name it ("the native addon has no <what>"). */
  what: string;
  js: I;
  native(nat: NativeLoad): I | null;
}

export interface KernelInfo {
  implementation: KernelImplementation;
  /** Vector extensions the native code was compiled for ('none' for JS). */
  simd: string;
  /** Vector extensions of the dense fused step's matrix products ('avx512f' where they use AVX-512; else `simd`). */
  denseSimd: string;
  /** Threads a scan uses (batch rows split between them). */
  threads: number;
  /** Why the native addon is not in use, when it is not. */
  reason?: string;
}

let requestedImpl: KernelImplementation | 'auto' | null = null;
let threadOverride: number | null = null;
let warned = false;

/** The requested implementation: set from code, else `ORTHOQUANT_KERNELS`, else auto. */
function requested(): KernelImplementation | 'auto' {
  if (requestedImpl !== null) return requestedImpl;
  return setting('kernels');
}

/** Choose the implementation: 'native' throws (with the reason) when the addon is unavailable. */
export function setKernelImplementation(impl: KernelImplementation | 'auto'): void {
  if (impl !== 'auto' && impl !== 'native' && impl !== 'js') {
    throw new Error(`setKernelImplementation: expected one of auto|native|js, got '${String(impl)}'`);
  }
  if (impl === 'native') {
    const nat = loadNative();
    if (!nat.impl) throw new Error(`setKernelImplementation: the native kernels are not available: ${nat.reason}`);
  }
  requestedImpl = impl;
}

/** Threads for native scans (default: `ORTHOQUANT_THREADS`, else the hardware's); null resets. */
export function setKernelThreads(threads: number | null): void {
  if (threads !== null && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`setKernelThreads: expected a positive integer or null, got ${threads}`);
  }
  threadOverride = threads;
}

function kernelThreads(hardware: number): number {
  if (threadOverride !== null) return threadOverride;
  return setting('threads') ?? Math.max(1, hardware);
}

/** The implementation in use (falls back to JS, logging the reason once). */
function currentImplementation(): KernelImplementation {
  const want = requested();
  if (want === 'js') return 'js';
  const nat = loadNative();
  if (nat.impl) return 'native';
  if (want === 'native') throw new Error(`kernels: the native kernels are not available: ${nat.reason}`);
  if (!warned) {
    warned = true;
    log().warn({ reason: nat.reason }, `kernels: using the JS fallback (${nat.reason})`);
  }
  return 'js';
}

/** Which implementation the scans run on, its SIMD flavour and thread count, and why not native. */
export function kernelInfo(): KernelInfo {
  const nat = loadNative();
  if (currentImplementation() === 'native') return { implementation: 'native', simd: nat.simd, denseSimd: denseSimd(nat), threads: kernelThreads(nat.hardwareThreads) };
  return { implementation: 'js', simd: 'none', denseSimd: 'none', threads: 1, reason: requested() === 'js' ? 'JS implementation requested' : nat.reason };
}

/** Implementations present in this process (JS always; native when the addon loads). */
export function availableImplementations(): KernelImplementation[] {
  return loadNative().impl ? ['native', 'js'] : ['js'];
}

/** `family`'s implementation called `name` (what a registered kernel was told to run). */
export function implementationNamed<I>(family: OpImplementations<I>, name: KernelImplementation): I {
  if (name === 'js') return family.js;
  const nat = loadNative();
  if (!nat.impl) throw new Error(`kernels: the native kernels are not available: ${nat.reason}`);
  const impl = family.native(nat);
  if (!impl) throw new Error(`kernels: the native addon has no ${family.what}`);
  return impl;
}

/**
 * The implementation of `family` to run — `name` when given, else the current choice — and its
 * thread count (1 for JS).
 */
export function selectImplementation<I>(family: OpImplementations<I>, name?: KernelImplementation): { impl: I; name: KernelImplementation; threads: number } {
  const which = name ?? currentImplementation();
  const impl = implementationNamed(family, which);
  return { impl, name: which, threads: which === 'native' ? kernelThreads(loadNative().hardwareThreads) : 1 };
}
