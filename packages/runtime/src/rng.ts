/**
 * Seeded, reproducible randomness shared by every package.
 *
 * - Generator: xoshiro128** (32-bit state words, period 2^128 − 1), seeded through splitmix32
 *   from a number or a string, so that `createRng(7)` gives the same stream on every backend,
 *   platform and Node version.
 * - `fork(label)` derives an independent stream (e.g. one per tensor or per data split) whose
 *   values do not depend on how much the parent has been used.
 * - `state()` / `Rng.fromState()` snapshot and restore the stream (checkpoints).
 */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a of a string, 32-bit: turns textual seeds and fork labels into numbers. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function seedToNumber(seed: number | string): number {
  if (typeof seed === 'string') return hashString(seed);
  if (!Number.isFinite(seed)) throw new Error(`rng: seed must be a finite number or a string, got ${seed}`);
  // Fold the high bits of large integer seeds in, so that 2^32 + 1 and 1 differ.
  const hi = Math.floor(seed / 4294967296);
  return (seed >>> 0) ^ Math.imul(hi >>> 0, 0x9e3779b1);
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;
  /** The seed this stream was created from (forks record `parentSeed/label`). */
  readonly seed: string;

  constructor(seed: number | string = 0) {
    const sm = splitmix32(seedToNumber(seed));
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.seed = String(seed);
  }

  static fromState(state: RngState, seed = 'restored'): Rng {
    const r = new Rng(seed);
    [r.s0, r.s1, r.s2, r.s3] = state.map((v) => v >>> 0) as RngState;
    return r;
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform in [lo, hi). */
  uniformIn(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 4294967296) throw new Error(`rng.int: n must be an integer in [1, 2^32], got ${n}`);
    if (n === 4294967296) return this.nextUint32();
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Fill (or create) a Float32Array with N(mean, std²) draws. */
  normalArray(length: number, std = 1, mean = 0, out = new Float32Array(length)): Float32Array {
    for (let i = 0; i < length; i++) out[i] = this.normal(mean, std);
    return out;
  }

  /** Fill (or create) a Float32Array with U[lo, hi) draws. */
  uniformArray(length: number, lo = 0, hi = 1, out = new Float32Array(length)): Float32Array {
    for (let i = 0; i < length; i++) out[i] = this.uniformIn(lo, hi);
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(arr: T): T {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = arr[i];
      arr[i] = arr[j];
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /**
   * An independent stream derived from this stream's seed and a label. Depends only on
   * (seed, label), not on how many numbers this stream has drawn.
   */
  fork(label: string | number): Rng {
    return new Rng(`${this.seed}/${label}`);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seeded generator. `createRng(seed).fork('init/W')` for named sub-streams. */
export function createRng(seed: number | string = 0): Rng {
  return new Rng(seed);
}
