// Register-blocked dense products of the dense recurrences (scan.cc, reversible.cc, lstm.cc):
// rows times a matrix in MR × 16 tiles, and the accumulated outer products of the weight
// gradients; matrices zero-padded to a multiple of 16 columns.
#pragma once

#include <vector>

#include "simd.h"

namespace oq {

// Dense scans: per time step, a register-blocked product over this thread's rows.
//   out[r, c] = Σ_{k<K} in[r, k] · M[k, c]   for c < ncols (a multiple of 16)
// in tiles of MR rows × 16 columns, columns outermost so that a 16-wide strip of M stays in cache
// while every row block passes over it. `store(r, c, acc0, acc1)` consumes each finished tile.
// Strides: `ls` between rows of `in`, `ms` between rows of M.

constexpr int NR = 16;
constexpr int MR = 6;

template <int R, class Store>
inline void tile(const float* in, int ls, int K, const float* M, int ms, int r0, int c, Store& store) {
  v8 acc0[R], acc1[R];
  for (int r = 0; r < R; r++) acc0[r] = acc1[r] = splat(0.f);
  const float* Mc = M + c;
  const float* rows = in + size_t(r0) * ls;
  for (int k = 0; k < K; k++) {
    const v8 w0 = ld(Mc + size_t(k) * ms), w1 = ld(Mc + size_t(k) * ms + 8);
    for (int r = 0; r < R; r++) {
      const v8 x = splat(rows[size_t(r) * ls + k]);
      acc0[r] += x * w0;
      acc1[r] += x * w1;
    }
  }
  for (int r = 0; r < R; r++) store(r0 + r, c, acc0[r], acc1[r]);
}

template <class Store>
void rowsTimesM(const float* in, int rows, int ls, int K, const float* M, int ms, int ncols, Store store) {
  for (int c = 0; c < ncols; c += NR) {
    int r = 0;
    for (; r + MR <= rows; r += MR) tile<MR>(in, ls, K, M, ms, r, c, store);
    switch (rows - r) {
      case 5: tile<5>(in, ls, K, M, ms, r, c, store); break;
      case 4: tile<4>(in, ls, K, M, ms, r, c, store); break;
      case 3: tile<3>(in, ls, K, M, ms, r, c, store); break;
      case 2: tile<2>(in, ls, K, M, ms, r, c, store); break;
      case 1: tile<1>(in, ls, K, M, ms, r, c, store); break;
      default: break;
    }
  }
}

// acc[i, c] += Σ_r D[r, i] · X[r, c] for i < nI, c < ncols (multiple of 16), over `rows` rows.
// Strides: ds (D rows), xs (X rows), as (acc rows).
// The rows are given by two accessors, Drow(r) and Xrow(r): evenly strided rows (accumulateOuter)
// or row pointers (accumulateOuterRows: a group's rows over several steps, so that each tile of acc
// is loaded once for all of them).
template <int R, class DRow, class XRow>
inline void outerTile(DRow Drow, XRow Xrow, int rows, float* acc, int as, int i0, int c) {
  v8 a0[R], a1[R];
  for (int i = 0; i < R; i++) {
    a0[i] = ld(acc + size_t(i0 + i) * as + c);
    a1[i] = ld(acc + size_t(i0 + i) * as + c + 8);
  }
  for (int r = 0; r < rows; r++) {
    const float* xr = Xrow(r);
    const v8 x0 = ld(xr + c), x1 = ld(xr + c + 8);
    const float* dr = Drow(r) + i0;
    for (int i = 0; i < R; i++) {
      const v8 d = splat(dr[i]);
      a0[i] += d * x0;
      a1[i] += d * x1;
    }
  }
  for (int i = 0; i < R; i++) {
    st(acc + size_t(i0 + i) * as + c, a0[i]);
    st(acc + size_t(i0 + i) * as + c + 8, a1[i]);
  }
}

template <class DRow, class XRow>
inline void accumulateOuterBy(DRow Drow, int nI, XRow Xrow, int ncols, int rows, float* acc, int as) {
  for (int c = 0; c < ncols; c += NR) {
    int i = 0;
    for (; i + MR <= nI; i += MR) outerTile<MR>(Drow, Xrow, rows, acc, as, i, c);
    switch (nI - i) {
      case 5: outerTile<5>(Drow, Xrow, rows, acc, as, i, c); break;
      case 4: outerTile<4>(Drow, Xrow, rows, acc, as, i, c); break;
      case 3: outerTile<3>(Drow, Xrow, rows, acc, as, i, c); break;
      case 2: outerTile<2>(Drow, Xrow, rows, acc, as, i, c); break;
      case 1: outerTile<1>(Drow, Xrow, rows, acc, as, i, c); break;
      default: break;
    }
  }
}

inline void accumulateOuter(const float* D, int ds, int nI, const float* X, int xs, int ncols, int rows, float* acc, int as) {
  accumulateOuterBy([=](int r) { return D + size_t(r) * ds; }, nI, [=](int r) { return X + size_t(r) * xs; }, ncols, rows, acc, as);
}

// The same over rows given by pointers: acc[i, c] += Σ_r D[r][i] · X[r][c].
inline void accumulateOuterRows(const float* const* D, int nI, const float* const* X, int ncols, int rows, float* acc, int as) {
  accumulateOuterBy([=](int r) { return D[r]; }, nI, [=](int r) { return X[r]; }, ncols, rows, acc, as);
}

inline int padded(int n) { return (n + NR - 1) / NR * NR; }

// M[k, i] = W[i, k] (transposed = true) or W[k, i], zero-padded to [np, np].
inline std::vector<float> padMatrix(const float* W, int n, int np, bool transposed) {
  std::vector<float> M(size_t(np) * np, 0.f);
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++) M[size_t(k) * np + i] = transposed ? W[size_t(i) * n + k] : W[size_t(k) * n + i];
  return M;
}

}  // namespace oq
