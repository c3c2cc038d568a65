// The whole HadamRNN training loss as one op (same math as src/fused-step.ts): input projection,
// the linear Hadamard recurrence with s = ±1, the readout and the mean softmax cross-entropy over
// all T·B steps (or over the B rows of the last step), and every parameter gradient by
// reversible BPTT.
//
//   z_t = x_t U + b          (x rows with zeros skipped: a one-hot row costs one row of U;
//                             index inputs: x_t is a row of U, z_t = U[i_t] + b, no one-hot rows)
//   h_t = s ⊙ (h_{t-1}·(I ⊗ H_m))/√m + z_t
//   y_t = f(h_t) V + c,      L = (1/(T·B)) Σ_{t,b} logsumexp(y_tb) − y_tb[target_tb]   (f = id or ReLU)
//
// Last-step readout: only y_{T−1} enters L (mean over B), so the steps t < T−1 have no readout and
// δ_t is the carry alone.
//
// Forward keeps only the last state and one state every `anchorEvery` steps. Backward runs from
// t = T−1 down, per row: rebuild z_t from x_t, the logits from h_t, g = (softmax − onehot)·scale;
// dV += f(h)ᵀ g, dc += g, δ = (g Vᵀ) ⊙ f'(h) + carry, dU += x_tᵀ δ, db += δ, ds += δ ⊙ s ⊙ u
// (u = h_t − z_t), carry = ((δ ⊙ s)·H)/√m, h_{t−1} = ((s ⊙ u)·H)/√m (or the anchor). Nothing of
// size T·B·n exists in either pass. Sums use GroupSums (parallel.h): thread-count independent.
#include "common.h"
#include "gemm-avx512.h"
#include "kron.h"
#include "readout-loss.h"

#include <memory>

namespace oq {
namespace {

// Bits of the `flags` argument; bits 4–5 hold the dense recurrence's activation (ACT_*);
// FLAG_NO_AVX512: the dense products use the AVX2 kernels even where the CPU has AVX-512F.
constexpr int FLAG_RELU = 1, FLAG_LAST = 2, FLAG_INDEX = 4, FLAG_DENSE = 8, ACT_SHIFT = 4, FLAG_NO_AVX512 = 64;
constexpr int ACT_LINEAR = 0, ACT_RELU = 1, ACT_TANH = 2;

struct FusedStep {
  int T, B, n, m, k, classes, relu, lastOnly, anchorEvery, dense, act;
  bool avx512;  // the dense products run the AVX-512 kernels (gemm-avx512.h)
  const float* x;          // [T, B, k], or null with xi
  const int32_t* xi;       // [T, B] row indices into U (index inputs), or null
  const float* U;          // [k, n]
  const float* b;          // [n]
  const float* s;          // hadamard: s [n], ±1; dense: W [n, n] row-major
  const float* h0;         // [B, n] or null
  const float* V;          // [n, classes]
  const float* c;          // [classes]
  const int32_t* targets;  // [T, B], or [B] (lastOnly)
  const KronStage* kron;   // the p-stage of m = p·2^k (h_t = s ⊙ H_m h_{t−1}/√m + z_t), or null
  // Whether step t has a readout, and the target of (t, b).
  bool readsOut(int t) const { return !lastOnly || t == T - 1; }
  int target(int t, int b) const { return lastOnly ? targets[b] : targets[size_t(t) * B + b]; }
};

// z = b + x U for one row.
inline void project(const FusedStep& p, size_t row, float* z) {
  std::memcpy(z, p.b, sizeof(float) * p.n);
  if (p.xi) {
    const float* u = p.U + size_t(p.xi[row]) * p.n;
    for (int i = 0; i < p.n; i++) z[i] += u[i];
    return;
  }
  const float* xr = p.x + row * p.k;
  for (int j = 0; j < p.k; j++)
    if (xr[j] != 0.f) {
      const float a = xr[j];
      const float* u = p.U + size_t(j) * p.n;
      for (int i = 0; i < p.n; i++) z[i] += a * u[i];
    }
}

// z_t of one row eight elements at a time: b + U[i] read in place for index inputs (the addition
// project does), else project's row in `buf`.
struct ZRow {
  const float *b, *u, *z;
  ZRow(const FusedStep& p, size_t row, float* buf) : b(p.b), u(p.xi ? p.U + size_t(p.xi[row]) * p.n : nullptr), z(buf) {
    if (!u) project(p, row, buf);
  }
  v8 operator()(int j) const { return u ? ld(b + j) + ld(u + j) : ld(z + j); }
};

inline const float* anchorAt(const FusedStep& p, const float* anchors, int t, int b) {
  if (!anchors || p.anchorEvery <= 0 || (t + 1) % p.anchorEvery != 0) return nullptr;
  return anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * p.n;
}

// The transform of a row runs on register chunks (whtRowWith, with the elementwise work around it
// fused into its load and store): a power-of-two order and rows of whole vectors; else rec_row
// and separate passes (the same bits).
inline bool plainWht(const FusedStep& p) { return !(p.kron && p.kron->p > 1) && p.n % 8 == 0; }

std::vector<float> transposeV(const FusedStep& p) { return transposeReadout(p.V, p.n, p.classes); }

inline ReadoutLoss readoutOf(const FusedStep& p, const float* Vt) { return ReadoutLoss{p.n, p.classes, p.relu != 0, Vt, p.c}; }

// Sums: the loss of each group's rows (double, one slot per group).
void forwardRows(const FusedStep& p, const float* Vt, const GroupSums& groups, int g0, int g1, double* loss, float* hLast, float* anchors) {
  const int n = p.n, b0 = groups.rowBegin(g0), b1 = groups.rowBegin(g1);
  const float scale = 1.f / std::sqrt(float(p.m));
  std::vector<float> h(size_t(b1 - b0) * n), z(n), buf(n), a(n), y((p.classes + 7) / 8 * 8);
  const bool chunked = plainWht(p);
  const int nv = chunkVectors(p.m, 8);
  for (int b = b0; b < b1; b++) {
    float* hb = &h[size_t(b - b0) * n];
    if (p.h0) std::memcpy(hb, p.h0 + size_t(b) * n, sizeof(float) * n);
    else std::fill(hb, hb + n, 0.f);
  }
  for (int t = 0; t < p.T; t++)
    for (int g = g0; g < g1; g++)
      for (int b = groups.rowBegin(g); b < groups.rowBegin(g + 1); b++) {
        float* hb = &h[size_t(b - b0) * n];
        const size_t row = size_t(t) * p.B + b;
        if ((t > 0 || p.h0) && chunked) {
          // h_t = s ⊙ (H h_{t−1})·scale + z_t on register chunks (whtRowWith), in place; index
          // inputs form z_t = b + U[i_t] in the store (the same addition as project).
          const ZRow zr(p, row, z.data());
          byChunk(nv, [&](auto k) {
            whtRowWith<decltype(k)::value>(hb, n, p.m, [&](int j) { return ld(hb + j); }, [&](v8 v, int j) { return ld(p.s + j) * v * splat(scale) + zr(j); });
          });
        } else if (t > 0 || p.h0) {
          project(p, row, z.data());
          std::memcpy(buf.data(), hb, sizeof(float) * n);
          rec_row(p.kron, buf.data(), n, p.m, false);
          for (int i = 0; i < n; i++) hb[i] = p.s[i] * buf[i] * scale + z[i];
        } else {
          project(p, row, hb);
        }
        if (anchors && p.anchorEvery > 0 && (t + 1) % p.anchorEvery == 0)
          std::memcpy(anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * n, hb, sizeof(float) * n);
        if (p.readsOut(t)) loss[g] += readoutRow(readoutOf(p, Vt), hb, a.data(), y.data(), p.target(t, b), nullptr, 0.f);
      }
  for (int b = b0; b < b1; b++) std::memcpy(hLast + size_t(b) * n, &h[size_t(b - b0) * n], sizeof(float) * n);
}

struct Layout {
  size_t ds, dU, db, dVt, dc, len;
  // Row stride of dW [n, ·] (dense) and of dVᵀ [classes, ·]: np = n padded to 16 for the dense
  // recurrence (its blocked products write whole 16-column tiles), else n.
  int stride;
};

inline Layout layoutOf(const FusedStep& p) {
  Layout l{};
  l.stride = p.dense ? padded(p.n) : p.n;
  l.ds = 0;
  l.dU = l.ds + (p.dense ? size_t(p.n) * l.stride : size_t(p.n));
  l.db = l.dU + size_t(p.k) * p.n;
  l.dVt = l.db + p.n;
  l.dc = l.dVt + size_t(p.classes) * l.stride;
  l.len = l.dc + p.classes;
  return l;
}

// δ of R rows (b, b+1, …) before the recurrence's σ': (g Vᵀ) ⊙ f'(h) + carry where step t reads
// out (also dVᵀ += g ⊗ f(h), dc += g: readoutBackwardRows), else the carry alone.
template <int R>
inline void readoutBackwardRows(const FusedStep& p, const Layout& L, const float* Vt, const float* const* h, float* const* a, float* y, float* const* g, const float* const* c, float* const* d, float* acc, int t, int b, float scale) {
  if (!p.readsOut(t)) {
    for (int r = 0; r < R; r++) std::memcpy(d[r], c[r], sizeof(float) * p.n);
    return;
  }
  int targets[R];
  for (int r = 0; r < R; r++) targets[r] = p.target(t, b + r);
  readoutBackwardRows<R>(readoutOf(p, Vt), h, a, y, g, c, d, acc + L.dVt, acc + L.dc, targets, scale);
}

// dU += x_tᵀ δ, db += δ.
inline void inputBackward(const FusedStep& p, const Layout& L, size_t row, const float* d, float* acc) {
  const int n = p.n;
  if (p.xi) {
    float* du = acc + L.dU + size_t(p.xi[row]) * n;
    for (int i = 0; i < n; i++) du[i] += d[i];
  } else {
    const float* xr = p.x + row * p.k;
    for (int j = 0; j < p.k; j++)
      if (xr[j] != 0.f) {
        float* du = acc + L.dU + size_t(j) * n;
        for (int i = 0; i < n; i++) du[i] += xr[j] * d[i];
      }
  }
  for (int i = 0; i < n; i++) acc[L.db + i] += d[i];
}

// ---------------------------------------------------------------------------------------------
// Dense recurrence h_t = σ(W h_{t−1} + z_t), checkpointed BPTT. The forward keeps h_{k−1},
// h_{2k−1}, … (the anchors); the backward takes the segments [jk, (j+1)k) from the last to the
// first and recomputes the segment's states from the checkpoint before it (this thread's rows
// together), then runs BPTT through them: δ = dh ⊙ σ'(h), carry = δ W, and once per segment and
// row group dW += Σ δ ⊗ h_{t−1} over the segment's steps. σ' is read off h = σ(a) (ReLU: h > 0,
// tanh: 1 − h²).
//
// Every product is a register-blocked GEMM over all of a thread's rows at once (the recurrence,
// the recomputed segment, the carry, the readout and its gradient): rowsTimesM (common.h, 6×16
// tiles) or, where the CPU has AVX-512F, rowsTimesM16 (gemm-avx512.h, 8×32 tiles), followed by
// a cheap elementwise pass (σ, bias, σ'). Both sum each output over k in order from zero, so the
// two give the same bits, the state of a row does not depend on the rows it was blocked with
// (1, 2 or 3 threads give the same states), and the backward's recomputed states are
// bit-identical with the forward's. Rows are padded to np = n rounded up to 16 (the padded lanes
// stay zero).

// out[r, c] = Σ_{k<K} in[r, k] · M[k, c] for r < rows, c < ncols (a multiple of 16).
// avx512: the AVX-512 kernels (FusedStep::avx512).
inline void gemmRows(bool avx512, const float* in, int rows, size_t ls, int K, const float* M, size_t ms, int ncols, float* out, size_t os) {
#if OQ_GEMM_AVX512
  if (avx512) {
    rowsTimesM16(in, rows, ls, K, M, ms, ncols, out, os);
    return;
  }
#endif
  auto store = [&](int r, int c, v8 a0, v8 a1) {
    st(out + size_t(r) * os + c, a0);
    st(out + size_t(r) * os + c + 8, a1);
  };
  rowsTimesM(in, rows, int(ls), K, M, int(ms), ncols, store);
}

// acc[i, c] += Σ_{r < nr, t < L} D[r·rsD + t·ds + i] · X[r·rsX + t·xs + c] for i < nI, c < ncols
// (a multiple of 16), each element summed over its rows in the order (r, t); acc row stride as.
template <int R>
inline void outerTile(const float* D, size_t ds, const float* X, size_t xs, int nr, int L, size_t rsD, size_t rsX, float* acc, size_t as, int i0, int c) {
  v8 a0[R], a1[R];
  for (int i = 0; i < R; i++) {
    a0[i] = ld(acc + size_t(i0 + i) * as + c);
    a1[i] = ld(acc + size_t(i0 + i) * as + c + 8);
  }
  for (int r = 0; r < nr; r++) {
    const float* Xr = X + r * rsX + c;
    const float* Dr = D + r * rsD + i0;
    for (int t = 0; t < L; t++) {
      const v8 x0 = ld(Xr + size_t(t) * xs), x1 = ld(Xr + size_t(t) * xs + 8);
      const float* dt = Dr + size_t(t) * ds;
      for (int i = 0; i < R; i++) {
        const v8 d = splat(dt[i]);
        a0[i] += d * x0;
        a1[i] += d * x1;
      }
    }
  }
  for (int i = 0; i < R; i++) {
    st(acc + size_t(i0 + i) * as + c, a0[i]);
    st(acc + size_t(i0 + i) * as + c + 8, a1[i]);
  }
}

inline void outerRows(bool avx512, const float* D, size_t ds, int nI, const float* X, size_t xs, int ncols, int nr, int L, size_t rsD, size_t rsX, float* acc, size_t as) {
#if OQ_GEMM_AVX512
  if (avx512) {
    accumulateOuter16(D, ds, nI, X, xs, ncols, nr, L, rsD, rsX, acc, as);
    return;
  }
#endif
  for (int c = 0; c < ncols; c += NR) {
    int i = 0;
    for (; i + MR <= nI; i += MR) outerTile<MR>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c);
    switch (nI - i) {
      case 5: outerTile<5>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
      case 4: outerTile<4>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
      case 3: outerTile<3>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
      case 2: outerTile<2>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
      case 1: outerTile<1>(D, ds, X, xs, nr, L, rsD, rsX, acc, as, i, c); break;
      default: break;
    }
  }
}

inline v8 activate8(int act, v8 a) {
  if (act == ACT_RELU) return a > splat(0.f) ? a : splat(0.f);
  if (act == ACT_TANH) return tanh8(a);
  return a;
}

// out[r] = σ(z[r] + prev[r]·M) for `rows` rows (prev null: σ(z[r])), M = Wᵀ padded [np, np].
// Row r of prev, z and out is at r·ps, r·np and r·os.
inline void denseStepRows(bool avx512, int act, int n, int np, const float* prev, size_t ps, const float* M, const float* z, float* out, size_t os, int rows) {
  if (prev) gemmRows(avx512, prev, rows, ps, n, M, np, np, out, os);
  for (int r = 0; r < rows; r++) {
    const float* zr = z + size_t(r) * np;
    float* o = out + size_t(r) * os;
    for (int c = 0; c < np; c += 8) st(o + c, activate8(act, prev ? ld(zr + c) + ld(o + c) : ld(zr + c)));
  }
}

// The padded matrices of the dense path, built once per call: np = n and cp = classes rounded up
// to 16. Mf = Wᵀ [np, np] (h·Mf = W h), Mb = W [np, np] (δ·Mb = Wᵀ δ), Vp = V [n, cp],
// Vtp = Vᵀ [classes, np], cpad = c [cp]; padded entries are zero.
struct DenseMats {
  int np, cp;
  std::vector<float> Mf, Mb, Vp, Vtp, cpad;
  explicit DenseMats(const FusedStep& p) : np(padded(p.n)), cp(padded(p.classes)) {
    const int n = p.n, nc = p.classes;
    Mf = padMatrix(p.s, n, np, true);
    Mb = padMatrix(p.s, n, np, false);
    Vp.assign(size_t(n) * cp, 0.f);
    Vtp.assign(size_t(nc) * np, 0.f);
    cpad.assign(cp, 0.f);
    for (int i = 0; i < n; i++)
      for (int q = 0; q < nc; q++) Vp[size_t(i) * cp + q] = Vtp[size_t(q) * np + i] = p.V[size_t(i) * nc + q];
    for (int q = 0; q < nc; q++) cpad[q] = p.c[q];
  }
};

// Logits of `rows` rows: A[r] = f(h_r) (f = ReLU; with the identity the product reads h itself),
// Y[r] = c + f(h_r) V, [rows, cp]. Row r of h is at r·hs. Returns the rows the product read
// (A, row stride np, or h).
inline const float* readoutLogits(const FusedStep& p, const DenseMats& m, const float* h, size_t hs, float* A, float* Y, int rows) {
  const int np = m.np, cp = m.cp;
  const float* in = h;
  size_t is = hs;
  if (p.relu) {
    for (int r = 0; r < rows; r++) {
      const float* hr = h + size_t(r) * hs;
      float* ar = A + size_t(r) * np;
      for (int i = 0; i < np; i += 8) {
        const v8 x = ld(hr + i);
        st(ar + i, x > splat(0.f) ? x : splat(0.f));
      }
    }
    in = A;
    is = np;
  }
  gemmRows(p.avx512, in, rows, is, p.n, m.Vp.data(), cp, cp, Y, cp);
  const float* cv = m.cpad.data();
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cp; c += 8) st(Y + size_t(r) * cp + c, ld(Y + size_t(r) * cp + c) + ld(cv + c));
  return in;
}

void forwardDenseRows(const FusedStep& p, const DenseMats& m, const GroupSums& groups, int g0, int g1, double* loss, float* hLast, float* anchors) {
  const int n = p.n, np = m.np, cp = m.cp, b0 = groups.rowBegin(g0), b1 = groups.rowBegin(g1), rows = b1 - b0;
  std::vector<float> h(size_t(rows) * np, 0.f), hn(size_t(rows) * np, 0.f), z(size_t(rows) * np, 0.f), A(size_t(rows) * np, 0.f), Y(size_t(rows) * cp, 0.f);
  if (p.h0)
    for (int r = 0; r < rows; r++) std::memcpy(&h[size_t(r) * np], p.h0 + size_t(b0 + r) * n, sizeof(float) * n);
  for (int t = 0; t < p.T; t++) {
    for (int r = 0; r < rows; r++) project(p, size_t(t) * p.B + b0 + r, &z[size_t(r) * np]);
    denseStepRows(p.avx512, p.act, n, np, t > 0 || p.h0 ? h.data() : nullptr, np, m.Mf.data(), z.data(), hn.data(), np, rows);
    std::swap(h, hn);
    if (anchors && p.anchorEvery > 0 && (t + 1) % p.anchorEvery == 0)
      for (int r = 0; r < rows; r++) std::memcpy(anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b0 + r) * n, &h[size_t(r) * np], sizeof(float) * n);
    if (!p.readsOut(t)) continue;
    readoutLogits(p, m, h.data(), np, A.data(), Y.data(), rows);
    for (int g = g0; g < g1; g++)
      for (int b = groups.rowBegin(g); b < groups.rowBegin(g + 1); b++) loss[g] += softmaxRow(&Y[size_t(b - b0) * cp], p.classes, cp, p.target(t, b), nullptr, 0.f);
  }
  for (int r = 0; r < rows; r++) std::memcpy(hLast + size_t(b0 + r) * n, &h[size_t(r) * np], sizeof(float) * n);
}

// Sums: dW padded [n, np] at L.ds, dU, db, dVᵀ [classes, np] at L.dVt, dc (Layout).
void backwardDenseRows(const FusedStep& p, const DenseMats& m, const float* anchors, float scale, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, np = m.np, cp = m.cp, b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1), rows = b1 - b0;
  const int K = p.anchorEvery > 0 ? std::min(p.anchorEvery, p.T) : p.T;
  const int segments = (p.T + K - 1) / K;
  const Layout L = layoutOf(p);
  // S: per row, the segment's entering state and its K states (slot t − t0 + 1 holds h_t); D: per
  // row, δ_t at slot t − t0 (beside h_{t−1} in S). Row r's block starts at r·rs in both.
  const size_t rs = size_t(K + 1) * np;
  std::vector<float> S(size_t(rows) * rs, 0.f), D(size_t(rows) * rs, 0.f), carry(size_t(rows) * np, 0.f), z(size_t(rows) * np, 0.f);
  std::vector<float> A(size_t(rows) * np, 0.f), GV(size_t(rows) * np, 0.f), Y(size_t(rows) * cp, 0.f), G(size_t(rows) * cp, 0.f);
  std::vector<int> groupOf(rows);
  for (int g = g0; g < g1; g++)
    for (int b = sums.rowBegin(g); b < sums.rowBegin(g + 1); b++) groupOf[b - b0] = g;
  const int act = p.act;
  for (int j = segments - 1; j >= 0; j--) {
    const int t0 = j * K, t1 = std::min(p.T, t0 + K), len = t1 - t0;
    // The state entering the segment: h0 (or zeros) for the first, else the checkpoint h_{t0−1}.
    for (int r = 0; r < rows; r++) {
      const float* start = j == 0 ? (p.h0 ? p.h0 + size_t(b0 + r) * n : nullptr) : anchors + (size_t(j - 1) * p.B + b0 + r) * n;
      float* s0 = &S[size_t(r) * rs];
      if (start) std::memcpy(s0, start, sizeof(float) * n);
      else std::fill(s0, s0 + n, 0.f);
    }
    for (int t = t0; t < t1; t++) {
      for (int r = 0; r < rows; r++) project(p, size_t(t) * p.B + b0 + r, &z[size_t(r) * np]);
      const bool none = t == 0 && !p.h0;
      denseStepRows(p.avx512, act, n, np, none ? nullptr : &S[size_t(t - t0) * np], rs, m.Mf.data(), z.data(), &S[size_t(t - t0 + 1) * np], rs, rows);
    }
    for (int t = t1 - 1; t >= t0; t--) {
      const float* H = &S[size_t(t - t0 + 1) * np];  // h_t of row r at r·rs
      float* Dt = &D[size_t(t - t0) * np];
      const bool reads = p.readsOut(t);
      if (reads) {
        // g = ∂ℓ/∂y per row, dc += g, GV = g Vᵀ, dVᵀ += Σ_r g_r ⊗ f(h_r) per row group.
        const float* Ain = readoutLogits(p, m, H, rs, A.data(), Y.data(), rows);
        const size_t as = Ain == H ? rs : size_t(np);
        for (int r = 0; r < rows; r++) {
          float* gr = &G[size_t(r) * cp];
          softmaxRow(&Y[size_t(r) * cp], p.classes, cp, p.target(t, b0 + r), gr, scale);
          float* dc = sums.acc(groupOf[r]) + L.dc;
          for (int q = 0; q < p.classes; q++) dc[q] += gr[q];
        }
        gemmRows(p.avx512, G.data(), rows, cp, p.classes, m.Vtp.data(), np, np, GV.data(), np);
        for (int g = g0; g < g1; g++) {
          const int r0 = sums.rowBegin(g) - b0, nr = sums.rowBegin(g + 1) - sums.rowBegin(g);
          outerRows(p.avx512, &G[size_t(r0) * cp], cp, p.classes, Ain + size_t(r0) * as, as, np, 1, nr, 0, 0, sums.acc(g) + L.dVt, np);
        }
      }
      // δ_t = (g Vᵀ ⊙ f'(h_t) + carry) ⊙ σ'(h_t), then dU += x_tᵀ δ, db += δ.
      for (int r = 0; r < rows; r++) {
        const float* hr = H + size_t(r) * rs;
        const float* cr = &carry[size_t(r) * np];
        const float* gv = &GV[size_t(r) * np];
        float* dr = Dt + size_t(r) * rs;
        for (int c = 0; c < np; c += 8) {
          const v8 hv = ld(hr + c);
          v8 d = ld(cr + c);
          if (reads) d += p.relu ? (hv > splat(0.f) ? ld(gv + c) : splat(0.f)) : ld(gv + c);
          if (act == ACT_RELU) d = hv > splat(0.f) ? d : splat(0.f);
          else if (act == ACT_TANH) d *= splat(1.f) - hv * hv;
          st(dr + c, d);
        }
        inputBackward(p, L, size_t(t) * p.B + b0 + r, dr, sums.acc(groupOf[r]));
      }
      // carry_r = δ_r W (the gradient reaching h_{t−1}); at t = 0 it is dh0.
      if (t > 0 || p.h0) gemmRows(p.avx512, Dt, rows, rs, n, m.Mb.data(), np, np, carry.data(), np);
    }
    // dW += Σ δ_t ⊗ h_{t−1} over the segment, per row group (h_{−1} = 0 without h0: adds nothing).
    for (int g = g0; g < g1; g++) {
      const int r0 = sums.rowBegin(g) - b0, nr = sums.rowBegin(g + 1) - sums.rowBegin(g);
      outerRows(p.avx512, &D[size_t(r0) * rs], np, n, &S[size_t(r0) * rs], np, np, nr, len, rs, rs, sums.acc(g) + L.ds, np);
      sums.flush(g);
    }
  }
  if (dh0)
    for (int r = 0; r < rows; r++) std::memcpy(dh0 + size_t(b0 + r) * n, &carry[size_t(r) * np], sizeof(float) * n);
}

void backwardRows(const FusedStep& p, const float* Vt, const float* hLast, const float* anchors, float scale, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1);
  const float hsq = 1.f / std::sqrt(float(p.m));
  const Layout L = layoutOf(p);
  const size_t nc8 = (p.classes + 7) / 8 * 8;
  std::vector<float> h(size_t(b1 - b0) * n), carry(size_t(b1 - b0) * n, 0.f), z(n), u(n), a(2 * n), y(nc8), gq(2 * nc8), d(2 * n);
  const bool chunked = plainWht(p);
  const int nv = chunkVectors(p.m, 8);
  for (int b = b0; b < b1; b++) std::memcpy(&h[size_t(b - b0) * n], hLast + size_t(b) * n, sizeof(float) * n);
  float* const as[2] = {a.data(), a.data() + n};
  float* const gs[2] = {gq.data(), gq.data() + nc8};
  float* const ds[2] = {d.data(), d.data() + n};
  for (int t = p.T - 1; t >= 0; t--) {
    for (int g = g0; g < g1; g++) {
      float* acc = sums.acc(g);
      const int end = sums.rowBegin(g + 1);
      for (int b = sums.rowBegin(g); b < end;) {
        // The readout's backward two rows at a time, then each row's input and recurrence backward
        // in row order: every accumulator gets the rows' terms in row order.
        const int R = b + 1 < end ? 2 : 1;
        const float* const hs2[2] = {&h[size_t(b - b0) * n], R == 2 ? &h[size_t(b + 1 - b0) * n] : nullptr};
        const float* const cs2[2] = {&carry[size_t(b - b0) * n], R == 2 ? &carry[size_t(b + 1 - b0) * n] : nullptr};
        if (R == 2) readoutBackwardRows<2>(p, L, Vt, hs2, as, y.data(), gs, cs2, ds, acc, t, b, scale);
        else readoutBackwardRows<1>(p, L, Vt, hs2, as, y.data(), gs, cs2, ds, acc, t, b, scale);
        for (int r = 0; r < R; r++, b++) {
          float* hb = &h[size_t(b - b0) * n];
          float* c = &carry[size_t(b - b0) * n];
          const float* dr = ds[r];
          const size_t row = size_t(t) * p.B + b;
          if (chunked) {
            // u = s ⊙ (h_t − z_t) = rec0(h_{t−1})/√m; ds += δ ⊙ u; index inputs: dU[i_t] += δ,
            // db += δ in the carry's load (else inputBackward), z_t = b + U[i_t] in u's.
            const float* an = t > 0 ? anchorAt(p, anchors, t - 1, b) : nullptr;
            const bool dsOn = t > 0 || p.h0;
            float* dsAcc = acc + L.ds;
            float* du = p.xi ? acc + L.dU + size_t(p.xi[row]) * n : nullptr;
            float* db = acc + L.db;
            if (!du) inputBackward(p, L, row, dr, acc);
            const ZRow zr(p, row, z.data());
            auto uAt = [&](int j) {
              const v8 uj = ld(p.s + j) * (ld(hb + j) - zr(j));
              if (dsOn) st(dsAcc + j, ld(dsAcc + j) + ld(dr + j) * uj);
              return uj;
            };
            auto carryIn = [&](int j) {
              const v8 dj = ld(dr + j);
              if (du) {
                st(du + j, ld(du + j) + dj);
                st(db + j, ld(db + j) + dj);
              }
              return dj * ld(p.s + j);
            };
            auto scaled = [&](v8 v, int) { return v * splat(hsq); };
            byChunk(nv, [&](auto k) {
              constexpr int NV = decltype(k)::value;
              // carry = H(δ ⊙ s)/√m; h_{t−1} = H u/√m (or the anchor), u and ds in its load.
              whtRowWith<NV>(c, n, p.m, carryIn, scaled);
              if (t > 0 && !an) {
                whtRowWith<NV>(hb, n, p.m, uAt, scaled);
              } else {
                for (int j = 0; j < n; j += 8) uAt(j);
                if (an) std::memcpy(hb, an, sizeof(float) * n);
              }
            });
            continue;
          }
          inputBackward(p, L, row, dr, acc);
          project(p, row, z.data());
          for (int i = 0; i < n; i++) u[i] = p.s[i] * (hb[i] - z[i]);
          if (t > 0 || p.h0)
            for (int i = 0; i < n; i++) acc[L.ds + i] += dr[i] * u[i];
          for (int i = 0; i < n; i++) c[i] = dr[i] * p.s[i];
          rec_row(p.kron, c, n, p.m, true);
          for (int i = 0; i < n; i++) c[i] *= hsq;
          if (t > 0) {
            const float* an = anchorAt(p, anchors, t - 1, b);
            if (an) {
              std::memcpy(hb, an, sizeof(float) * n);
            } else {
              std::memcpy(hb, u.data(), sizeof(float) * n);
              rec_row(p.kron, hb, n, p.m, true);
              for (int i = 0; i < n; i++) hb[i] *= hsq;
            }
          }
        }
      }
      if ((p.T - t) % SUM_FLUSH == 0 || t == 0) sums.flush(g);
    }
  }
  if (dh0)
    for (int b = b0; b < b1; b++) std::memcpy(dh0 + size_t(b) * n, &carry[size_t(b - b0) * n], sizeof(float) * n);
}

int fusedThreads(int requested, const FusedStep& p) {
  const double work = double(p.T) * p.B * p.n * ((p.dense ? p.n : 8) + p.classes);
  return work < 2e6 ? 1 : std::max(1, requested);
}

void parse(const Args& a, FusedStep& p, int& threads) {
  p.T = a.i32(0, "T");
  p.B = a.i32(1, "B");
  p.n = a.i32(2, "n");
  p.m = a.i32(3, "blockSize");
  p.k = a.i32(4, "k");
  p.classes = a.i32(5, "classes");
  const int flags = a.i32(6, "flags");
  p.relu = (flags & FLAG_RELU) != 0;
  p.lastOnly = (flags & FLAG_LAST) != 0;
  p.dense = (flags & FLAG_DENSE) != 0;
  p.act = (flags >> ACT_SHIFT) & 3;
  p.avx512 = OQ_GEMM_AVX512 && gemmAvx512() && !(flags & FLAG_NO_AVX512);
  if (p.act > ACT_TANH) throw ArgError{"activation code must be 0 (linear), 1 (relu) or 2 (tanh)"};
  if (!p.dense && p.act != ACT_LINEAR) throw ArgError{"the hadamard fused step is linear (reversible BPTT)"};
  p.anchorEvery = a.i32(7, "anchorEvery");
  threads = a.i32(8, "threads");
  if (p.T < 1 || p.B < 1 || p.n < 1 || p.k < 1 || p.classes < 1) throw ArgError{"T, B, n, k and classes must be positive"};
  if (!p.dense && (p.m < 1 || p.n % p.m)) throw ArgError{"blockSize must divide n"};  // its order: parseKron
  if (p.anchorEvery < 0) throw ArgError{"anchorEvery must be >= 0"};
  const size_t TB = size_t(p.T) * p.B;
  if (flags & FLAG_INDEX) {
    p.x = nullptr;
    p.xi = a.indices(9, TB, p.k, "x (row indices into U)", "input index");
  } else {
    p.x = a.f32(9, TB * p.k, "x");
    p.xi = nullptr;
  }
  p.U = a.f32(10, size_t(p.k) * p.n, "U");
  p.b = a.f32(11, p.n, "b");
  p.s = a.f32(12, p.dense ? size_t(p.n) * p.n : size_t(p.n), p.dense ? "W" : "s");
  for (int i = 0; i < (p.dense ? 0 : p.n); i++)
    if (p.s[i] != 1.f && p.s[i] != -1.f) throw ArgError{"s[" + std::to_string(i) + "] = " + std::to_string(p.s[i]) + ": every s must be exactly ±1 (reversible BPTT)"};
  p.h0 = a.f32OrNull(13, size_t(p.B) * p.n, "h0");
  p.V = a.f32(14, size_t(p.n) * p.classes, "V");
  p.c = a.f32(15, p.classes, "c");
  p.targets = a.targets(16, p.lastOnly ? size_t(p.B) : TB, p.classes);
}

inline size_t anchorLen(const FusedStep& p) { return p.anchorEvery > 0 ? size_t(p.T / p.anchorEvery) * p.B * p.n : 0; }

}  // namespace

// fusedStepForward(T, B, n, m, k, classes, flags (FLAG_*), anchorEvery, threads, x, U, b, s, h0|null, V, c, targets, hLast, anchors|null, p, hp|null) → mean loss
napi_value FusedStepForward(const Args& a) {
  FusedStep p{};
  int threads = 1;
  parse(a, p, threads);
  const KronStage kron = parseKron(a.env, a[19], a[20], p.n, p.m);
  p.kron = &kron;
  float* hLast = a.f32(17, size_t(p.B) * p.n, "hLast");
  float* anchors = a.f32OrNull(18, anchorLen(p), "anchors", anchorLen(p) == 0);
  const std::vector<float> Vt = transposeV(p);
  GroupSums groups(p.B, 0);
  std::vector<double> loss(groups.groups, 0.0);
  const std::unique_ptr<DenseMats> mats(p.dense ? new DenseMats(p) : nullptr);
  parallelGroups(fusedThreads(threads, p), groups, [&](int, int g0, int g1) {
    if (p.dense) forwardDenseRows(p, *mats, groups, g0, g1, loss.data(), hLast, anchors);
    else forwardRows(p, Vt.data(), groups, g0, g1, loss.data(), hLast, anchors);
  });
  double total = 0.0;
  for (double v : loss) total += v;
  return a.number(total / (p.lastOnly ? double(p.B) : double(p.T) * p.B));
}

// fusedStepBackward(T, B, n, m, k, classes, flags (FLAG_*), anchorEvery, threads, x, U, b, s, h0|null, V, c, targets, hLast, anchors|null,
//                   dy, dU, db, ds, dh0|null, dV, dc, p, hp|null)
napi_value FusedStepBackward(const Args& a) {
  FusedStep p{};
  int threads = 1;
  parse(a, p, threads);
  const KronStage kron = parseKron(a.env, a[26], a[27], p.n, p.m);
  p.kron = &kron;
  const float* hLast = a.f32(17, size_t(p.B) * p.n, "hLast");
  const float* anchors = a.f32OrNull(18, anchorLen(p), "anchors", anchorLen(p) == 0);
  const double dy = a.f64(19, "dy");
  float* dU = a.f32(20, size_t(p.k) * p.n, "dU");
  float* db = a.f32(21, p.n, "db");
  float* ds = a.f32(22, p.dense ? size_t(p.n) * p.n : size_t(p.n), p.dense ? "dW" : "ds");
  float* dh0 = a.f32OrNull(23, size_t(p.B) * p.n, "dh0");
  float* dV = a.f32(24, size_t(p.n) * p.classes, "dV");
  float* dc = a.f32(25, p.classes, "dc");
  if (dh0 && !p.h0) throw ArgError{"dh0 given without h0"};
  const std::vector<float> Vt = transposeV(p);
  const Layout L = layoutOf(p);
  GroupSums sums(p.B, L.len);
  const float scale = float(dy / (p.lastOnly ? double(p.B) : double(p.T) * p.B));
  const std::unique_ptr<DenseMats> mats(p.dense ? new DenseMats(p) : nullptr);
  parallelGroups(fusedThreads(threads, p), sums, [&](int, int g0, int g1) {
    if (p.dense) backwardDenseRows(p, *mats, anchors, scale, sums, g0, g1, dh0);
    else backwardRows(p, Vt.data(), hLast, anchors, scale, sums, g0, g1, dh0);
  });
  const int n = p.n;
  if (p.dense) {
    for (int i = 0; i < n; i++)
      for (int q = 0; q < n; q++) ds[size_t(i) * n + q] = float(sums.total(L.ds + size_t(i) * L.stride + q));
  } else {
    for (int i = 0; i < n; i++) ds[i] = float(sums.total(L.ds + i));
  }
  for (size_t e = 0; e < size_t(p.k) * n; e++) dU[e] = float(sums.total(L.dU + e));
  for (int i = 0; i < n; i++) db[i] = float(sums.total(L.db + i));
  for (int i = 0; i < n; i++)
    for (int q = 0; q < p.classes; q++) dV[size_t(i) * p.classes + q] = float(sums.total(L.dVt + size_t(q) * L.stride + i));
  for (int q = 0; q < p.classes; q++) dc[q] = float(sums.total(L.dc + q));
  return nullptr;
}

}  // namespace oq
