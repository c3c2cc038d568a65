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

// Σ_i a[i]·v[i] with 8-lane accumulators (a plain float loop would not vectorise: reduction).
inline float dot(const float* a, const float* v, int n) {
  v8 acc = splat(0.f);
  int i = 0;
  for (; i + 8 <= n; i += 8) acc += ld(a + i) * ld(v + i);
  float s = 0.f;
  for (int l = 0; l < 8; l++) s += acc[l];
  for (; i < n; i++) s += a[i] * v[i];
  return s;
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
  for (int q = 0; q < nc; q++) y[q] = p.c[q] + dot(a, p.Vt + size_t(q) * n, n);
  const int padded8 = p.padded8();
  for (int q = nc; q < padded8; q++) y[q] = -INFINITY;
  return softmaxRow(y, nc, padded8, target, g, scale);
}

// d = (g Vᵀ) ⊙ f'(h) + carry for a row that reads out (g from readoutRow); dVt [classes, n] += g ⊗ f(h), dc += g.
inline void readoutBackward(const ReadoutLoss& p, const float* h, float* a, float* y, float* gq, const float* carry, float* d, float* dVt, float* dc, int target, float scale) {
  const int n = p.n;
  readoutRow(p, h, a, y, target, gq, scale);
  std::fill(d, d + n, 0.f);
  for (int q = 0; q < p.classes; q++) {
    const float gv = gq[q];
    dc[q] += gv;
    float* dv = dVt + size_t(q) * n;
    const float* v = p.Vt + size_t(q) * n;
    for (int i = 0; i < n; i++) {
      dv[i] += gv * a[i];
      d[i] += gv * v[i];
    }
  }
  if (p.relu) {
    // A vector select: the scalar branch on the sign of h mispredicts half the time (it cost as
    // much as the rest of the readout's backward).
    int i = 0;
    for (; i + 8 <= n; i += 8) {
      const v8 cv = ld(carry + i);
      st(d + i, ld(h + i) > splat(0.f) ? ld(d + i) + cv : cv);
    }
    for (; i < n; i++) d[i] = h[i] > 0.f ? d[i] + carry[i] : carry[i];
  } else {
    for (int i = 0; i < n; i++) d[i] += carry[i];
  }
}

}  // namespace oq
