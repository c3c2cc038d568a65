// The per-row readout and softmax cross-entropy that the fused training losses share
// (fused-step.cc: HadamRNN and dense RNNs; lstm-loss.cc: the LSTM):
//   a = f(h) (f = identity or ReLU),  y = c + a V,  ℓ = logsumexp(y) − y[target],
// and its backward g = (softmax(y) − onehot(target))·scale, dVᵀ += g ⊗ a, dc += g,
// δ = (g Vᵀ) ⊙ f'(h) + carry. V is given transposed (Vt = Vᵀ [classes, n]).
#pragma once

#include "common.h"

namespace oq {

struct ReadoutLoss {
  int n, classes;
  bool relu;
  const float* Vt;  // Vᵀ [classes, n]
  const float* c;   // [classes]
  // y and g hold classes rounded up to 8 (exp8 over vectors).
  int padded8() const { return (classes + 7) / 8 * 8; }
};

// Vᵀ [classes, n] of V [n, classes].
inline std::vector<float> transposeReadout(const float* V, int n, int classes) {
  std::vector<float> Vt(size_t(classes) * n);
  for (int i = 0; i < n; i++)
    for (int q = 0; q < classes; q++) Vt[size_t(q) * n + i] = V[size_t(i) * classes + q];
  return Vt;
}

// y[q] = c[q] + Σ_i a[i]·Vt[q][i] for the Q classes from q0. Each sum is an 8-lane accumulator over
// i, then its lanes added in order from 0, then the tail (a plain float loop would not vectorise: a
// reduction). The Q classes in one pass: their Q chains of dependent additions run side by side
// (one class at a time, the chain's latency cost more than the products), and each class's sum is
// the same sequence of operations as alone.
template <int Q>
inline void logitsBlock(const float* a, const float* Vt, const float* c, float* y, int n, int q0) {
  const float* v = Vt + size_t(q0) * n;
  v8 acc[Q];
#pragma GCC unroll 16
  for (int q = 0; q < Q; q++) acc[q] = splat(0.f);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const v8 x = ld(a + i);
#pragma GCC unroll 16
    for (int q = 0; q < Q; q++) acc[q] += x * ld(v + size_t(q) * n + i);
  }
  // sum[q] = ((0 + acc[q][0]) + acc[q][1]) + … + acc[q][7]: for the first 8 classes at once, class
  // q in lane q of the transposed accumulators (the same additions in the same order per class).
  float sum[Q];
  constexpr int Q8 = Q >= 8 ? 8 : 0;
  if constexpr (Q8 == 8) {
    v8 col[8];
    transpose8(acc, col);
    v8 s = splat(0.f);
    for (int l = 0; l < 8; l++) s += col[l];
    st(sum, s);
  }
#pragma GCC unroll 16
  for (int q = Q8; q < Q; q++) sum[q] = 0.f;
  for (int l = 0; l < 8; l++)
#pragma GCC unroll 16
    for (int q = Q8; q < Q; q++) sum[q] += acc[q][l];
  for (; i < n; i++)
#pragma GCC unroll 16
    for (int q = 0; q < Q; q++) sum[q] += a[i] * v[size_t(q) * n + i];
#pragma GCC unroll 16
  for (int q = 0; q < Q; q++) y[q0 + q] = c[q0 + q] + sum[q];
}

// y = c + a V over every class (Vt = Vᵀ [classes, n]), logitsBlock up to 10 classes at a time (10
// accumulators and the row fit the 16 vector registers): the copy task's 9 classes and MNIST's 10
// are one pass.
inline void logits(const float* a, const float* Vt, const float* c, float* y, int n, int nc) {
  for (int q0 = 0; q0 < nc; q0 += 10) {
    switch (std::min(10, nc - q0)) {
      case 1: logitsBlock<1>(a, Vt, c, y, n, q0); break;
      case 2: logitsBlock<2>(a, Vt, c, y, n, q0); break;
      case 3: logitsBlock<3>(a, Vt, c, y, n, q0); break;
      case 4: logitsBlock<4>(a, Vt, c, y, n, q0); break;
      case 5: logitsBlock<5>(a, Vt, c, y, n, q0); break;
      case 6: logitsBlock<6>(a, Vt, c, y, n, q0); break;
      case 7: logitsBlock<7>(a, Vt, c, y, n, q0); break;
      case 8: logitsBlock<8>(a, Vt, c, y, n, q0); break;
      case 9: logitsBlock<9>(a, Vt, c, y, n, q0); break;
      default: logitsBlock<10>(a, Vt, c, y, n, q0); break;
    }
  }
}

// The cross-entropy of one row of logits y [cp] (classes used); with g, also
// g = (softmax(y) − onehot(target))·scale over the classes and zero in the padding.
inline double softmaxRow(const float* y, int nc, int cp, int target, float* g, float scale) {
  float mx = -INFINITY;
  for (int q = 0; q < nc; q++) mx = std::max(mx, y[q]);
  float sum = 0.f;
  for (int q = 0; q < cp; q += 8) {
    const v8 e = exp8(ld(y + q) - splat(mx));
    if (g) st(g + q, e);
    for (int l = 0; l < 8 && q + l < nc; l++) sum += e[l];
  }
  const double loss = double(std::log(sum)) + mx - y[target];
  if (g) {
    const float inv = scale / sum;
    for (int q = 0; q < nc; q++) g[q] *= inv;
    for (int q = nc; q < cp; q++) g[q] = 0.f;
    g[target] -= scale;
  }
  return loss;
}

// a = f(h); y = c + a V; returns the row's cross-entropy; with g, also g = (softmax(y) − onehot(t))·scale.
inline double readoutRow(const ReadoutLoss& p, const float* h, float* a, float* y, int target, float* g, float scale) {
  const int n = p.n, nc = p.classes;
  if (p.relu) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const v8 x = ld(h + i);
      st(a + i, x > splat(0.f) ? x : splat(0.f));
    }
    for (; i < n; i++) a[i] = h[i] < 0.f ? 0.f : h[i];
  } else {
    std::memcpy(a, h, sizeof(float) * n);
  }
  logits(a, p.Vt, p.c, y, n, nc);
  const int padded8 = p.padded8();
  for (int q = nc; q < padded8; q++) y[q] = -INFINITY;
  return softmaxRow(y, nc, padded8, target, g, scale);
}

// Elements [i, i + w) (w ≤ 8) of readoutBackwardRows, all classes: δ stays in a register over the
// classes (summed in class order from 0, as an array in memory would be) and is stored once, with
// ReLU's f'(h) as a vector select (a scalar branch on the sign of h mispredicts half the time).
// Each element of dVᵀ is loaded and stored once for the R rows and gets row 0's term, then row
// 1's, …. The last n % 8 elements take the same vector operations on zero-padded lanes, so they
// round as the others do (a scalar tail is contracted to FMAs or not at the compiler's whim).
template <int R>
inline void readoutBackwardChunk(const ReadoutLoss& p, const float* const* h, float* const* a, float* const* g, const float* const* carry, float* const* d, float* dVt, int i, int w) {
  const int n = p.n;
  v8 ai[R], di[R];
  for (int r = 0; r < R; r++) {
    ai[r] = ldPart(a[r] + i, w);
    di[r] = splat(0.f);
  }
  for (int q = 0; q < p.classes; q++) {
    float* dv = dVt + size_t(q) * n + i;
    const v8 vq = ldPart(p.Vt + size_t(q) * n + i, w);
    v8 sum = ldPart(dv, w);
    for (int r = 0; r < R; r++) {
      const v8 gv = splat(g[r][q]);
      sum += gv * ai[r];
      di[r] += gv * vq;
    }
    stPart(dv, sum, w);
  }
  for (int r = 0; r < R; r++) {
    const v8 cv = ldPart(carry[r] + i, w);
    stPart(d[r] + i, p.relu ? (ldPart(h[r] + i, w) > splat(0.f) ? di[r] + cv : cv) : di[r] + cv, w);
  }
}

// d = (g Vᵀ) ⊙ f'(h) + carry for R rows that read out (g from readoutRow); dVt [classes, n] +=
// g ⊗ f(h), dc += g. Row r has its state h[r], scratch a[r], g[r] (padded8), carry[r], output d[r]
// and target[r]; y is shared scratch. With R > 1 every accumulator gets the same additions in the
// same order as one row at a time (the callers' other sums between two rows never touch dVᵀ or dc),
// and each element of dVᵀ is loaded and stored once for all rows.
template <int R>
inline void readoutBackwardRows(const ReadoutLoss& p, const float* const* h, float* const* a, float* y, float* const* g, const float* const* carry, float* const* d, float* dVt, float* dc, const int* target, float scale) {
  const int n = p.n;
  for (int r = 0; r < R; r++) readoutRow(p, h[r], a[r], y, target[r], g[r], scale);
  for (int r = 0; r < R; r++)
    for (int q = 0; q < p.classes; q++) dc[q] += g[r][q];
  int i = 0;
  for (; i + 8 <= n; i += 8) readoutBackwardChunk<R>(p, h, a, g, carry, d, dVt, i, 8);
  if (i < n) readoutBackwardChunk<R>(p, h, a, g, carry, d, dVt, i, n - i);
}

}  // namespace oq
