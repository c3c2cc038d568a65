/**
 * Hadamard matrices: ±1 matrices H of order n with HᵀH = nI.
 *
 * Constructions implemented here (all exact, integer arithmetic):
 * - Sylvester: H₁ = [1], H_{2m} = [[H_m, H_m], [H_m, −H_m]] (n = 2^k; natural / Hadamard
 *   ordering, the one the fast Walsh–Hadamard transform computes).
 * - Paley I: q prime, q ≡ 3 (mod 4) → order q + 1.
 * - Paley II: q prime, q ≡ 1 (mod 4) → order 2(q + 1).
 * - Kronecker products H_a ⊗ H_b of any of the above.
 * Prime powers (Paley over GF(p^e), e > 1) are NOT implemented, so e.g. 52 (q = 25) and
 * 92 (Williamson) have no construction here.
 */
import { tf } from '@orthoquant/runtime';

/** How `hadamard(n)` builds order n: a tree of constructions. */
export type HadamardConstruction =
  | { kind: 'sylvester'; n: number }
  | { kind: 'paley1'; n: number; q: number }
  | { kind: 'paley2'; n: number; q: number }
  | { kind: 'kronecker'; n: number; left: HadamardConstruction; right: HadamardConstruction };

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

function isPrime(q: number): boolean {
  if (!Number.isInteger(q) || q < 2) return false;
  for (let d = 2; d * d <= q; d++) if (q % d === 0) return false;
  return true;
}

const constructionCache = new Map<number, HadamardConstruction | null>();

/**
 * The construction used for order n, or null when none of Sylvester, Paley I/II (prime q)
 * or a Kronecker product of them gives order n. Preference: Sylvester, Paley I, Paley II,
 * then the product with the largest power-of-two factor.
 */
export function hadamardConstruction(n: number): HadamardConstruction | null {
  if (!Number.isInteger(n) || n < 1) return null;
  const cached = constructionCache.get(n);
  if (cached !== undefined) return cached;
  let c: HadamardConstruction | null = null;
  if (isPowerOfTwo(n)) c = { kind: 'sylvester', n };
  else if (n % 4 !== 0) c = null;
  else if (isPrime(n - 1) && (n - 1) % 4 === 3) c = { kind: 'paley1', n, q: n - 1 };
  else if (isPrime(n / 2 - 1) && (n / 2 - 1) % 4 === 1) c = { kind: 'paley2', n, q: n / 2 - 1 };
  else {
    // n = a·b with both factors constructible; try power-of-two left factors first.
    for (let a = 2; a * a <= n && c === null; a++) {
      if (n % a !== 0) continue;
      const b = n / a;
      const left = hadamardConstruction(a);
      const right = left ? hadamardConstruction(b) : null;
      if (left && right) c = { kind: 'kronecker', n, left, right };
    }
  }
  constructionCache.set(n, c);
  return c;
}

/** Every order ≤ limit that `hadamard` can build (1, 2, then multiples of 4). */
export function hadamardOrders(limit: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= limit; n++) if (hadamardConstruction(n)) out.push(n);
  return out;
}

/** Legendre symbol χ(a) mod prime q: 0, 1 (square) or −1. */
function quadraticCharacter(q: number): Int8Array {
  const chi = new Int8Array(q).fill(-1);
  chi[0] = 0;
  for (let x = 1; x < q; x++) chi[(x * x) % q] = 1;
  return chi;
}

/** Sylvester's Hadamard matrix H_n (n a power of two), row-major ±1: H_1 = [1], H_2k = [[H_k, H_k], [H_k, −H_k]]. */
export function sylvester(n: number): Int8Array {
  if (!isPowerOfTwo(n)) throw new Error(`sylvester: order ${n} is not a power of two`);
  const h = new Int8Array(n * n);
  h[0] = 1;
  for (let m = 1; m < n; m *= 2) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const v = h[i * n + j];
        h[i * n + j + m] = v;
        h[(i + m) * n + j] = v;
        h[(i + m) * n + j + m] = -v;
      }
    }
  }
  return h;
}

/** Paley I: H = I + S, S = [[0, 1ᵀ], [−1, Q]], Q_ij = χ(j − i) (skew for q ≡ 3 mod 4). */
function paley1(q: number): Int8Array {
  const n = q + 1;
  const chi = quadraticCharacter(q);
  const h = new Int8Array(n * n);
  for (let j = 1; j < n; j++) {
    h[j] = 1;
    h[j * n] = -1;
  }
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) h[(i + 1) * n + j + 1] = chi[(j - i + q) % q];
  for (let i = 0; i < n; i++) h[i * n + i] += 1;
  return h;
}

/**
 * Paley II: C = [[0, 1ᵀ], [1, Q]] (symmetric conference matrix for q ≡ 1 mod 4),
 * H = C ⊗ [[1, −1], [−1, −1]] + I ⊗ [[1, 1], [1, −1]].
 */
function paley2(q: number): Int8Array {
  const m = q + 1;
  const n = 2 * m;
  const chi = quadraticCharacter(q);
  const c = (i: number, j: number): number => {
    if (i === 0 && j === 0) return 0;
    if (i === 0 || j === 0) return 1;
    return chi[(j - i + q) % q];
  };
  const h = new Int8Array(n * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      const cij = c(i, j);
      const blk = cij === 0 ? [1, 1, 1, -1] : [cij, -cij, -cij, -cij];
      h[2 * i * n + 2 * j] = blk[0];
      h[2 * i * n + 2 * j + 1] = blk[1];
      h[(2 * i + 1) * n + 2 * j] = blk[2];
      h[(2 * i + 1) * n + 2 * j + 1] = blk[3];
    }
  }
  return h;
}

/** Kronecker product of two square ±1 matrices (row-major), order a·b. */
export function kronecker(x: Int8Array, a: number, y: Int8Array, b: number): Int8Array {
  const n = a * b;
  const out = new Int8Array(n * n);
  for (let i = 0; i < a; i++)
    for (let j = 0; j < a; j++) {
      const v = x[i * a + j];
      for (let k = 0; k < b; k++) for (let l = 0; l < b; l++) out[(i * b + k) * n + j * b + l] = v * y[k * b + l];
    }
  return out;
}

function build(c: HadamardConstruction): Int8Array {
  switch (c.kind) {
    case 'sylvester':
      return sylvester(c.n);
    case 'paley1':
      return paley1(c.q);
    case 'paley2':
      return paley2(c.q);
    case 'kronecker':
      return kronecker(build(c.left), c.left.n, build(c.right), c.right.n);
  }
}

/**
 * A Hadamard matrix of order n, row-major ±1 entries (Int8Array of length n²).
 * - HᵀH = HHᵀ = nI exactly; H/√n is orthogonal.
 * - Powers of two give Sylvester's matrix (symmetric; `fwht` applies it in O(n log n)).
 * - Other orders: Paley I/II for primes, Kronecker products (see `hadamardConstruction`).
 * Throws for an order with no construction here.
 */
export function hadamard(n: number): Int8Array {
  const c = hadamardConstruction(n);
  if (!c) {
    throw new Error(`hadamard: no construction for order ${n} (known here: 2^k, Paley I/II primes, Kronecker products)`);
  }
  return build(c);
}

/**
 * I_{n/m} ⊗ H_m: block-diagonal with n/m Hadamard blocks of order m (row-major Int8Array,
 * zeros off the blocks). (I ⊗ H_m)ᵀ(I ⊗ H_m) = mI.
 */
export function blockHadamard(n: number, m: number): Int8Array {
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 1 || n % m !== 0) {
    throw new Error(`blockHadamard: block size m = ${m} must divide n = ${n}`);
  }
  const hm = hadamard(m);
  const out = new Int8Array(n * n);
  for (let b = 0; b < n / m; b++) {
    const o = b * m;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[(o + i) * n + o + j] = hm[i * m + j];
  }
  return out;
}

/**
 * The factorisation m = p·q, q = 2^k, that HadamRNN uses for order m: the smallest order p with
 * a construction here such that m/p is a power of two (p = 1 for powers of two; 96 = 12·8,
 * 192 = 12·16, 40 = 20·2, 12 = 12·1). Null when no such p exists.
 */
export function hadamardFactors(m: number): { p: number; q: number } | null {
  if (!Number.isInteger(m) || m < 1) return null;
  for (let q = m & -m; q >= 1; q >>= 1) {
    if (m % q === 0 && hadamardConstruction(m / q)) return { p: m / q, q };
  }
  return null;
}

/**
 * HadamRNN's Hadamard matrix of order m = p·q: H_p ⊗ H_q (H_q Sylvester, H_p = `hadamard(p)`),
 * row-major ±1, rows indexed a·q + j. Sylvester's own matrix for powers of two (p = 1), the
 * plain `hadamard(m)` for q = 1. Applied in O(m·(p + log₂ q)) by the fast Walsh–Hadamard
 * transform of each q-slice followed by a p × p ±1 transform across slices.
 */
export function kroneckerHadamard(m: number): Int8Array {
  const f = hadamardFactors(m);
  if (!f) throw new Error(`kroneckerHadamard: no factorisation p·2^k of order ${m} with a Hadamard matrix of order p (known here: 2^k, Paley I/II primes, Kronecker products)`);
  if (f.p === 1) return hadamard(m);
  if (f.q === 1) return hadamard(f.p);
  return kronecker(hadamard(f.p), f.p, hadamard(f.q), f.q);
}

/** I_{n/m} ⊗ (H_p ⊗ H_q): `blockHadamard` with HadamRNN's factorised order-m blocks. */
export function blockKroneckerHadamard(n: number, m: number): Int8Array {
  if (!Number.isInteger(n) || !Number.isInteger(m) || m < 1 || n < 1 || n % m !== 0) {
    throw new Error(`blockKroneckerHadamard: block size m = ${m} must divide n = ${n}`);
  }
  const hm = kroneckerHadamard(m);
  if (m === n) return hm;
  const out = new Int8Array(n * n);
  for (let b = 0; b < n / m; b++) {
    const o = b * m;
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) out[(o + i) * n + o + j] = hm[i * m + j];
  }
  return out;
}

/** An n×n tfjs tensor of a (block) Hadamard matrix, optionally scaled by `scale` (e.g. 1/√m). */
export function hadamardTensor(n: number, options: { blockSize?: number; scale?: number } = {}): tf.Tensor2D {
  const m = options.blockSize ?? n;
  const h = m === n ? hadamard(n) : blockHadamard(n, m);
  const scale = options.scale ?? 1;
  const f = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) f[i] = h[i] * scale;
  return tf.tensor2d(f, [n, n]);
}
