/**
 * numpy's legacy `np.random.RandomState` (MT19937), far enough to reproduce its
 * `permutation` / `shuffle` exactly — the permutation of the pMNIST reference code
 * (`np.random.RandomState(92916).permutation(784)`) and Keras's IMDB shuffle (seed 113).
 *
 * - Seeding with an integer s ∈ [0, 2³²): `init_genrand` — key[0] = s,
 *   key[i] = 1812433253·(key[i−1] ⊕ (key[i−1] ≫ 30)) + i (mod 2³²).
 * - Output: the standard MT19937 tempering of 624-word blocks.
 * - `shuffle(x)`: for i = n−1 … 1, j = interval(i), swap x[i], x[j]; `interval(m)` masks
 *   32-bit draws with the smallest all-ones mask ≥ m and rejects values > m.
 * - `permutation(n)` = shuffle(arange(n)).
 */
const N = 624;
const M = 397;

export class NumpyRandomState {
  private readonly key = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`NumpyRandomState: seed must be an integer in [0, 2^32 − 1], got ${seed}`);
    }
    const k = this.key;
    k[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = k[i - 1] ^ (k[i - 1] >>> 30);
      k[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The first words of the key after seeding (for checks against numpy's get_state()). */
  keyHead(count: number): number[] {
    return Array.from(this.key.subarray(0, count));
  }

  private refill(): void {
    const k = this.key;
    for (let i = 0; i < N; i++) {
      const y = (k[i] & 0x80000000) | (k[(i + 1) % N] & 0x7fffffff);
      let v = k[(i + M) % N] ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      k[i] = v >>> 0;
    }
    this.pos = 0;
  }

  nextUint32(): number {
    if (this.pos >= N) this.refill();
    let y = this.key[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random_sample()`: 53-bit double in [0, 1). */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** Uniform integer in [0, max] by masked rejection (numpy's legacy `random_interval`, max < 2³²). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }

  /** In-place shuffle of a 1-d array, exactly as `RandomState.shuffle`. */
  shuffle<T extends { length: number; [i: number]: unknown }>(x: T): T {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
    return x;
  }

  /** `RandomState.permutation(n)`. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 2 ** 31 - 1) throw new Error(`NumpyRandomState.permutation: n must be an integer in [0, 2^31 − 1], got ${n}`);
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/** `np.random.RandomState(seed).permutation(n)`, bit for bit. */
export function numpyLegacyPermutation(seed: number, n: number): Int32Array {
  return new NumpyRandomState(seed).permutation(n);
}
