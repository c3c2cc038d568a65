// AVX-512 twins of the register-blocked dense products of common.h (rowsTimesM, accumulateOuter)
// and of the dense fused step's segment outer product, for the CPUs that have AVX-512F: 16-lane
// vectors, tiles of 8 rows × 32 columns (16 accumulators of the 32 registers). They are compiled
// into the AVX2 build with a per-function target attribute and called only where
// `gemmAvx512()` says the CPU (and the OS) runs AVX-512F code; everything else in the addon stays
// AVX2. Column counts are multiples of 16 (np = n padded to 16; a last 16-column strip takes one
// vector per row).
//
// Each output element is the same chain as the AVX2 product's: acc = 0, then acc += in[k]·M[k, c]
// for k in order (one fused multiply-add per k with -mfma), so the AVX-512 and AVX2 paths give
// the same bits, and no result depends on the rows it was blocked with.
#pragma once

#include <cstddef>
#include <cstring>

namespace oq {

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && (defined(__GNUC__) || defined(__clang__))
#define OQ_GEMM_AVX512 1
#define OQ_AVX512 __attribute__((target("avx512f,avx2,fma")))

// Whether this CPU and OS run AVX-512F (libgcc checks the OS's register state too).
inline bool gemmAvx512() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

typedef float v16 __attribute__((vector_size(64)));

OQ_AVX512 inline v16 ld16(const float* p) {
  v16 r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
OQ_AVX512 inline void st16(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }
OQ_AVX512 inline v16 splat16(float x) { return (v16){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

constexpr int MR16 = 8;

// out[r0 + r, c..c+16·V) = Σ_{k<K} in[r0 + r, k] · M[k, c..]   for r < R, V vectors per row.
template <int R, int V>
OQ_AVX512 inline void tile16(const float* in, size_t ls, int K, const float* M, size_t ms, int r0, int c, float* out, size_t os) {
  v16 acc[R][V];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) acc[r][v] = splat16(0.f);
  const float* Mc = M + c;
  const float* rows = in + size_t(r0) * ls;
  for (int k = 0; k < K; k++) {
    v16 w[V];
    for (int v = 0; v < V; v++) w[v] = ld16(Mc + size_t(k) * ms + 16 * v);
    for (int r = 0; r < R; r++) {
      const v16 x = splat16(rows[size_t(r) * ls + k]);
      for (int v = 0; v < V; v++) acc[r][v] += x * w[v];
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < V; v++) st16(out + size_t(r0 + r) * os + c + 16 * v, acc[r][v]);
}

template <int V>
OQ_AVX512 inline void stripRows16(const float* in, int rows, size_t ls, int K, const float* M, size_t ms, int c, float* out, size_t os) {
  int r = 0;
  for (; r + MR16 <= rows; r += MR16) tile16<MR16, V>(in, ls, K, M, ms, r, c, out, os);
  switch (rows - r) {
    case 7: tile16<7, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 6: tile16<6, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 5: tile16<5, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 4: tile16<4, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 3: tile16<3, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 2: tile16<2, V>(in, ls, K, M, ms, r, c, out, os); break;
    case 1: tile16<1, V>(in, ls, K, M, ms, r, c, out, os); break;
    default: break;
  }
}

// out[r, c] = Σ_{k<K} in[r, k] · M[k, c] for r < rows, c < ncols (a multiple of 16); row strides
// ls (in), ms (M), os (out). Columns outermost: a 32-column strip of M stays in cache while every
// row block passes over it.
OQ_AVX512 inline void rowsTimesM16(const float* in, int rows, size_t ls, int K, const float* M, size_t ms, int ncols, float* out, size_t os) {
  int c = 0;
  for (; c + 32 <= ncols; c += 32) stripRows16<2>(in, rows, ls, K, M, ms, c, out, os);
  if (c < ncols) stripRows16<1>(in, rows, ls, K, M, ms, c, out, os);
}

// acc[i, c] += Σ_{r < nr, t < L} D[r·rs + t·ds + i] · X[r·rs + t·xs + c] for i0 ≤ i < i0 + R,
// c..c+16·V: the rows of a two-level index (nr blocks of stride rs, L rows inside a block), each
// element summed in the order (r, t). With nr = 1 and L rows it is a plain outer-product sum.
template <int R, int V>
OQ_AVX512 inline void outerTile16(const float* D, size_t ds, const float* X, size_t xs, int nr, int L, size_t rsD, size_t rsX, float* acc, size_t as, int i0, int c) {
  v16 a[R][V];
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) a[i][v] = ld16(acc + size_t(i0 + i) * as + c + 16 * v);
  for (int r = 0; r < nr; r++) {
    const float* Xr = X + r * rsX + c;
    const float* Dr = D + r * rsD + i0;
    for (int t = 0; t < L; t++) {
      v16 x[V];
      for (int v = 0; v < V; v++) x[v] = ld16(Xr + size_t(t) * xs + 16 * v);
      const float* dt = Dr + size_t(t) * ds;
      for (int i = 0; i < R; i++) {
        const v16 d = splat16(dt[i]);
        for (int v = 0; v < V; v++) a[i][v] += d * x[v];
      }
    }
  }
  for (int i = 0; i < R; i++)
    for (int v = 0; v < V; v++) st16(acc + size_t(i0 + i) * as + c + 16 * v, a[i][v]);
}

template <int V>
OQ_AVX512 inline void outerStrip16(const float* D, size_t ds, int nI, const float* X, size_t xs, int nr, int L, size_t rsD, size_t rsX, float* acc, size_t as, int c) {
  int i = 0;
  for (; i + MR16 <= nI; i += MR16) outerTile16<MR16, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c);
  switch (nI - i) {
    case 7: outerTile16<7, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 6: outerTile16<6, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 5: outerTile16<5, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 4: outerTile16<4, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 3: outerTile16<3, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 2: outerTile16<2, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    case 1: outerTile16<1, V>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
    default: break;
  }
}

// acc[i, c] += Σ_rows D[row, i] · X[row, c] for i < nI, c < ncols (a multiple of 16), rows as in
// outerTile16. acc row stride as.
OQ_AVX512 inline void accumulateOuter16(const float* D, size_t ds, int nI, const float* X, size_t xs, int ncols, int nr, int L, size_t rsD, size_t rsX, float* acc, size_t as) {
  int c = 0;
  for (; c + 32 <= ncols; c += 32) outerStrip16<2>(D, ds, nI, X, xs, nr, L, rsD, rsX, acc, as, c);
  if (c < ncols) outerStrip16<1>(D, ds, nI, X, xs, nr, L, rsD, rsX, acc, as, c);
}

#undef OQ_AVX512
#else
#define OQ_GEMM_AVX512 0
inline bool gemmAvx512() { return false; }
#endif

}  // namespace oq
