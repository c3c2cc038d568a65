// Fused recurrence scans (forward + BPTT backward) for @orthoquant/kernels, as a Node-API addon.
//
// Same math as src/scan-js.ts (the reference implementation of the package):
//   forward   a_t = rec(h_{t-1}) + z_t,  h_t = σ(a_t)
//             rec(h) = h Wᵀ (dense) or s ⊙ (h·(I ⊗ H_m))/√m (hadamard, by the fast WHT)
//   backward  δ_t = (dL/dh_t + carry_t) ⊙ σ'(h_t),  carry_{t-1} = δ_t W  (dense)
//             or ((δ_t ⊙ s)·(I ⊗ H_m))/√m (hadamard);  dW += δ_tᵀ h_{t-1},  ds += δ_t ⊙ rec0(h_{t-1})
//   σ' is read off h = σ(a): relu [h > 0], tanh 1 − h², modReLU [h ≠ 0] (∂h/∂b = sign h).
//
// Batch rows never interact, so the batch is split into contiguous row ranges, one per thread,
// and each thread runs the whole time loop on its rows without synchronisation. The dW / ds /
// dbias sums are kept per fixed group of rows (GroupSums in common.h: float blocks of SUM_FLUSH
// steps, double across blocks and groups), so the gradients do not depend on the thread count.
// Shared primitives live in common.h; reversible BPTT in reversible.cc.
//
// SIMD through GCC/Clang vector extensions (8 floats), lowered to whatever the build targets:
// built twice on x64 (baseline SSE2, and -mavx2 -mfma; binding.gyp), chosen at load time.
#include "common.h"
#include "gemm-avx512.h"
#include "reversible.h"
#include "fused-step.h"
#include "integer.h"
#include "kron.h"


namespace {

using namespace oq;


// ---------------------------------------------------------------------------------------------
// Hadamard scans: time outermost, so that each step streams through one contiguous slab
// [b0, b1) × n of Z, H, dL/dH and dL/dZ (prefetch-friendly, no page hopping between rows).

void hadamard_forward(const Problem& p, int b0, int b1) {
  const int n = p.n;
  const size_t stride = size_t(p.B) * n;
  const float scale = 1.f / std::sqrt(float(p.m));
  std::vector<float> sc(n), buf(n, 0.f);
  for (int i = 0; i < n; i++) sc[i] = p.w[i] * scale;
  for (int t = 0; t < p.T; t++) {
    for (int b = b0; b < b1; b++) {
      const size_t o = t * stride + size_t(b) * n;
      const float* prev = t > 0 ? p.H + o - stride : (p.h0 ? p.h0 + size_t(b) * n : nullptr);
      if (prev) {
        std::memcpy(buf.data(), prev, sizeof(float) * n);
        rec_row(p.kron, buf.data(), n, p.m, false);
        for (int i = 0; i < n; i++) buf[i] *= sc[i];
      } else {
        std::fill(buf.begin(), buf.end(), 0.f);
      }
      activate_row(p.act, buf.data(), p.z + o, p.bias, p.H + o, n);
    }
  }
}

// Sums (GroupSums, len 2n): ds at [0, n) (before the 1/√m scale), dbias at [n, 2n).
void hadamard_backward(const Problem& p, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1), rows = b1 - b0;
  const size_t stride = size_t(p.B) * n;
  const float scale = 1.f / std::sqrt(float(p.m));
  std::vector<float> carry(size_t(rows) * n, 0.f), d(n), buf(n);
  for (int t = p.T - 1; t >= 0; t--) {
    for (int g = g0; g < g1; g++) {
      float* ds = sums.acc(g);
      float* dbias = p.act == MODRELU ? ds + n : nullptr;
      for (int b = sums.rowBegin(g); b < sums.rowBegin(g + 1); b++) {
        float* c = &carry[size_t(b - b0) * n];
        const size_t o = t * stride + size_t(b) * n;
        delta_row(p.act, p.dH + o, c, p.H + o, d.data(), p.dz + o, dbias, n);
        const float* prev = t > 0 ? p.H + o - stride : (p.h0 ? p.h0 + size_t(b) * n : nullptr);
        if (prev) {
          std::memcpy(buf.data(), prev, sizeof(float) * n);
          rec_row(p.kron, buf.data(), n, p.m, false);
          for (int i = 0; i < n; i++) ds[i] += d[i] * buf[i];
        }
        for (int i = 0; i < n; i++) c[i] = d[i] * p.w[i];
        rec_row(p.kron, c, n, p.m, true);
        for (int i = 0; i < n; i++) c[i] *= scale;
      }
      if ((p.T - t) % SUM_FLUSH == 0 || t == 0) sums.flush(g);
    }
  }
  if (dh0)
    for (int b = b0; b < b1; b++) std::memcpy(dh0 + size_t(b) * n, &carry[size_t(b - b0) * n], sizeof(float) * n);
}


void dense_forward(const Problem& p, const float* Mf, int b0, int b1) {
  const int n = p.n, np = padded(n), rows = b1 - b0;
  const size_t stride = size_t(p.B) * n;
  std::vector<float> P(size_t(rows) * np, 0.f), Q(size_t(rows) * np, 0.f), tmp(NR);
  if (p.h0)
    for (int r = 0; r < rows; r++) std::memcpy(&P[size_t(r) * np], p.h0 + size_t(b0 + r) * n, sizeof(float) * n);
  for (int t = 0; t < p.T; t++) {
    const size_t base = t * stride + size_t(b0) * n;
    if (t == 0 && !p.h0) {
      std::vector<float> zero(n, 0.f);
      for (int r = 0; r < rows; r++) {
        activate_row(p.act, zero.data(), p.z + base + size_t(r) * n, p.bias, p.H + base + size_t(r) * n, n);
        std::memcpy(&P[size_t(r) * np], p.H + base + size_t(r) * n, sizeof(float) * n);
      }
      continue;
    }
    float* q = Q.data();
    const float* z = p.z + base;
    float* H = p.H + base;
    const float* bias = p.bias;
    const int act = p.act;
    auto store = [&](int r, int c, v8 a0, v8 a1) {
      const int len = std::min(NR, n - c);
      float* hr = H + size_t(r) * n + c;
      float* qr = q + size_t(r) * np + c;
      if (len == NR) {
        st(qr, a0);
        st(qr + 8, a1);
        activate_row(act, qr, z + size_t(r) * n + c, bias ? bias + c : nullptr, hr, NR);
        std::memcpy(qr, hr, sizeof(float) * NR);
      } else {
        st(tmp.data(), a0);
        st(tmp.data() + 8, a1);
        activate_row(act, tmp.data(), z + size_t(r) * n + c, bias ? bias + c : nullptr, hr, len);
        std::memcpy(qr, hr, sizeof(float) * len);
      }
    };
    rowsTimesM(P.data(), rows, np, n, Mf, np, np, store);
    std::swap(P, Q);
  }
}

// Sums (GroupSums, len np² + n): dW padded [np, np] at [0, np²), dbias at [np², np² + n).
void dense_backward(const Problem& p, const float* Mb, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, np = padded(n), b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1), rows = b1 - b0;
  const size_t stride = size_t(p.B) * n, wl = size_t(np) * np;
  std::vector<float> C(size_t(rows) * np, 0.f), D(size_t(rows) * np, 0.f), X(size_t(rows) * np, 0.f), tmp(NR);
  for (int t = p.T - 1; t >= 0; t--) {
    const size_t base = t * stride + size_t(b0) * n;
    for (int r = 0; r < rows; r++) {
      const size_t o = base + size_t(r) * n;
      float* dbias = p.act == MODRELU ? sums.acc(sums.groupOf(b0 + r)) + wl : nullptr;
      delta_row(p.act, p.dH + o, &C[size_t(r) * np], p.H + o, &D[size_t(r) * np], p.dz + o, dbias, n);
    }
    const float* prev = t > 0 ? p.H + base - stride : (p.h0 ? p.h0 + size_t(b0) * n : nullptr);
    if (prev) {
      for (int r = 0; r < rows; r++) std::memcpy(&X[size_t(r) * np], prev + size_t(r) * n, sizeof(float) * n);
      for (int g = g0; g < g1; g++) {
        const int r0 = sums.rowBegin(g) - b0, r1 = sums.rowBegin(g + 1) - b0;
        accumulateOuter(&D[size_t(r0) * np], np, n, &X[size_t(r0) * np], np, np, r1 - r0, sums.acc(g), np);
      }
    }
    if ((p.T - t) % SUM_FLUSH == 0 || t == 0)
      for (int g = g0; g < g1; g++) sums.flush(g);
    float* c = C.data();
    auto store = [&](int r, int col, v8 a0, v8 a1) {
      st(c + size_t(r) * np + col, a0);
      st(c + size_t(r) * np + col + 8, a1);
    };
    rowsTimesM(D.data(), rows, np, n, Mb, np, np, store);
  }
  if (dh0)
    for (int r = 0; r < rows; r++) std::memcpy(dh0 + size_t(b0 + r) * n, &C[size_t(r) * np], sizeof(float) * n);
}

// ---------------------------------------------------------------------------------------------
// Fused LSTM (gate order i, f, g, o). Gates live in a padded layout inside the kernels: gate q
// occupies columns [q·np, q·np + n) of a 4·np-wide row (np = n rounded up to 16), so that a
// 16-column tile never straddles two gates and every lane loop runs over whole vectors. Padded
// lanes hold zeros in h and c and never reach an output.

inline v8 sigmoid8(v8 x) { return splat(1.f) / (splat(1.f) + exp8(-x)); }

struct Lstm {
  int T, B, n;
  const float* gates;  // [T, B, 4n]
  const float* w;      // W_hh [4n, n]
  const float* h0;     // [B, n] or null
  const float* c0;     // [B, n] or null
  float* H;            // [T, B, n]
  float* C;            // [T, B, n]
  float* S;            // [T, B, 4n]: i, f, g, o
  const float* dH;     // backward
  float* dgates;       // backward
};

// Mf[k, q·np + u] = W_hh[q·n + u, k] ([np, 4·np]);  Mb[q·np + u, j] = W_hh[q·n + u, j] ([4·np, np]).
std::vector<float> lstmMatrix(const float* W, int n, int np, bool forward) {
  std::vector<float> M(size_t(4) * np * np, 0.f);
  for (int q = 0; q < 4; q++)
    for (int u = 0; u < n; u++)
      for (int k = 0; k < n; k++) {
        const float v = W[size_t(q * n + u) * n + k];
        if (forward) M[size_t(k) * 4 * np + q * np + u] = v;
        else M[size_t(q * np + u) * np + k] = v;
      }
  return M;
}

void lstm_forward(const Lstm& p, const float* Mf, int b0, int b1) {
  const int n = p.n, np = padded(n), rows = b1 - b0, w4 = 4 * np;
  std::vector<float> P(size_t(rows) * np, 0.f), Cs(size_t(rows) * np, 0.f), A(size_t(rows) * w4, 0.f);
  for (int r = 0; r < rows; r++) {
    if (p.h0) std::memcpy(&P[size_t(r) * np], p.h0 + size_t(b0 + r) * n, sizeof(float) * n);
    if (p.c0) std::memcpy(&Cs[size_t(r) * np], p.c0 + size_t(b0 + r) * n, sizeof(float) * n);
  }
  for (int t = 0; t < p.T; t++) {
    const size_t row0 = size_t(t) * p.B + b0;  // first row of this thread in [T·B]
    float* a = A.data();
    const float* G = p.gates;
    auto store = [&](int r, int c, v8 a0, v8 a1) {
      // Add the input part of the gates while storing: column c is unit u of gate q.
      const int q = c / np, u = c % np, len = std::min(NR, n - u);
      float* ar = a + size_t(r) * w4 + c;
      st(ar, a0);
      st(ar + 8, a1);
      const float* g = G + (row0 + r) * 4 * n + q * n + u;
      for (int l = 0; l < len; l++) ar[l] += g[l];
    };
    rowsTimesM(P.data(), rows, np, n, Mf, w4, w4, store);
    for (int r = 0; r < rows; r++) {
      const size_t R = row0 + r;
      float* ar = a + size_t(r) * w4;
      float* hr = &P[size_t(r) * np];
      float* cr = &Cs[size_t(r) * np];
      for (int j = 0; j < np; j += 8) {
        const v8 i = sigmoid8(ld(ar + j)), f = sigmoid8(ld(ar + np + j)), g = tanh8(ld(ar + 2 * np + j)), o = sigmoid8(ld(ar + 3 * np + j));
        const v8 c = f * ld(cr + j) + i * g;
        const v8 h = o * tanh8(c);
        const int len = std::min(8, n - j);
        if (len <= 0) break;
        st(cr + j, c);
        st(hr + j, h);
        st(ar + j, i);
        st(ar + np + j, f);
        st(ar + 2 * np + j, g);
        st(ar + 3 * np + j, o);
        if (len < 8) {  // keep padded lanes of the state at zero
          for (int l = len; l < 8; l++) hr[j + l] = 0.f, cr[j + l] = 0.f;
        }
      }
      std::memcpy(p.H + R * n, hr, sizeof(float) * n);
      std::memcpy(p.C + R * n, cr, sizeof(float) * n);
      for (int q = 0; q < 4; q++) std::memcpy(p.S + R * 4 * n + q * n, ar + q * np, sizeof(float) * n);
    }
  }
}

// Sums (GroupSums, len 4·np·np): dW_hh padded [4·np, np].
void lstm_backward(const Lstm& p, const float* Mb, GroupSums& sums, int g0, int g1, float* dh0, float* dc0) {
  const int n = p.n, np = padded(n), b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1), rows = b1 - b0, w4 = 4 * np;
  std::vector<float> ch(size_t(rows) * np, 0.f), cc(size_t(rows) * np, 0.f), DA(size_t(rows) * w4, 0.f), X(size_t(rows) * np, 0.f);
  std::vector<float> s(w4, 0.f), cur(np, 0.f), prev(np, 0.f), dh(np, 0.f);
  for (int t = p.T - 1; t >= 0; t--) {
    const size_t row0 = size_t(t) * p.B + b0;
    const bool hasPrevH = t > 0 || p.h0;
    for (int r = 0; r < rows; r++) {
      const size_t R = row0 + r;
      for (int q = 0; q < 4; q++) std::memcpy(&s[q * np], p.S + R * 4 * n + q * n, sizeof(float) * n);
      std::memcpy(cur.data(), p.C + R * n, sizeof(float) * n);
      const float* cp = t > 0 ? p.C + (R - p.B) * n : (p.c0 ? p.c0 + size_t(b0 + r) * n : nullptr);
      if (cp) std::memcpy(prev.data(), cp, sizeof(float) * n);
      else std::fill(prev.begin(), prev.end(), 0.f);
      std::memcpy(dh.data(), p.dH + R * n, sizeof(float) * n);
      float* da = &DA[size_t(r) * w4];
      float* chr = &ch[size_t(r) * np];
      float* ccr = &cc[size_t(r) * np];
      for (int j = 0; j < np; j += 8) {
        const v8 i = ld(&s[j]), f = ld(&s[np + j]), g = ld(&s[2 * np + j]), o = ld(&s[3 * np + j]);
        const v8 tc = tanh8(ld(&cur[j]));
        const v8 gh = ld(&dh[j]) + ld(chr + j);
        const v8 dc = ld(ccr + j) + gh * o * (splat(1.f) - tc * tc);
        st(da + j, dc * g * i * (splat(1.f) - i));
        st(da + np + j, dc * ld(&prev[j]) * f * (splat(1.f) - f));
        st(da + 2 * np + j, dc * i * (splat(1.f) - g * g));
        st(da + 3 * np + j, gh * tc * o * (splat(1.f) - o));
        st(ccr + j, dc * f);
      }
      // Padded lanes: S, C and dH are zero there, so da is zero and cc stays zero.
      for (int q = 0; q < 4; q++) std::memcpy(p.dgates + R * 4 * n + q * n, da + q * np, sizeof(float) * n);
      if (hasPrevH) {
        const float* hp = t > 0 ? p.H + (R - p.B) * n : p.h0 + size_t(b0 + r) * n;
        std::memcpy(&X[size_t(r) * np], hp, sizeof(float) * n);
      }
    }
    if (hasPrevH)
      for (int g = g0; g < g1; g++) {
        const int r0 = sums.rowBegin(g) - b0, r1 = sums.rowBegin(g + 1) - b0;
        accumulateOuter(&DA[size_t(r0) * w4], w4, w4, &X[size_t(r0) * np], np, np, r1 - r0, sums.acc(g), np);
      }
    if ((p.T - t) % SUM_FLUSH == 0 || t == 0)
      for (int g = g0; g < g1; g++) sums.flush(g);
    float* c = ch.data();
    auto store = [&](int r, int col, v8 a0, v8 a1) {
      st(c + size_t(r) * np + col, a0);
      st(c + size_t(r) * np + col + 8, a1);
    };
    rowsTimesM(DA.data(), rows, w4, w4, Mb, np, np, store);
  }
  for (int r = 0; r < rows; r++) {
    if (dh0) std::memcpy(dh0 + size_t(b0 + r) * n, &ch[size_t(r) * np], sizeof(float) * n);
    if (dc0) std::memcpy(dc0 + size_t(b0 + r) * n, &cc[size_t(r) * np], sizeof(float) * n);
  }
}

// ---------------------------------------------------------------------------------------------
// Threads: contiguous row ranges.

int effectiveThreads(int requested, const Problem& p) {
  const double work = double(p.T) * p.B * p.n * (p.kind == DENSE ? p.n : 8);
  int t = std::max(1, std::min(requested, p.B));
  if (work < 2e6) t = 1;  // spawning costs more than it saves
  return t;
}


void runForward(const Problem& p, int threads) {
  threads = effectiveThreads(threads, p);
  if (p.kind == HADAMARD) {
    parallelRows(threads, p.B, [&](int, int b0, int b1) { hadamard_forward(p, b0, b1); });
  } else {
    const std::vector<float> Mf = padMatrix(p.w, p.n, padded(p.n), true);
    parallelRows(threads, p.B, [&](int, int b0, int b1) { dense_forward(p, Mf.data(), b0, b1); });
  }
}

void runBackward(const Problem& p, int threads, float* dw, float* dh0, float* dbias) {
  threads = effectiveThreads(threads, p);
  const int n = p.n, np = padded(n);
  if (p.kind == HADAMARD) {
    GroupSums sums(p.B, size_t(2) * n);
    parallelGroups(threads, sums, [&](int, int g0, int g1) { hadamard_backward(p, sums, g0, g1, dh0); });
    const double scale = 1.0 / std::sqrt(double(p.m));
    for (int i = 0; i < n; i++) dw[i] = float(sums.total(i) * scale);
    if (dbias)
      for (int i = 0; i < n; i++) dbias[i] = float(sums.total(n + i));
  } else {
    const size_t wl = size_t(np) * np;
    GroupSums sums(p.B, wl + n);
    const std::vector<float> Mb = padMatrix(p.w, n, np, false);
    parallelGroups(threads, sums, [&](int, int g0, int g1) { dense_backward(p, Mb.data(), sums, g0, g1, dh0); });
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) dw[size_t(i) * n + j] = float(sums.total(size_t(i) * np + j));
    if (dbias)
      for (int i = 0; i < n; i++) dbias[i] = float(sums.total(wl + i));
  }
}

int lstmThreads(int requested, const Lstm& p) {
  int t = std::max(1, std::min(requested, p.B));
  if (double(p.T) * p.B * p.n * p.n * 4 < 2e6) t = 1;
  return t;
}

void runLstmForward(const Lstm& p, int threads) {
  threads = lstmThreads(threads, p);
  const std::vector<float> Mf = lstmMatrix(p.w, p.n, padded(p.n), true);
  parallelRows(threads, p.B, [&](int, int b0, int b1) { lstm_forward(p, Mf.data(), b0, b1); });
}

void runLstmBackward(const Lstm& p, int threads, float* dw, float* dh0, float* dc0) {
  threads = lstmThreads(threads, p);
  const int n = p.n, np = padded(n);
  const std::vector<float> Mb = lstmMatrix(p.w, n, np, false);
  GroupSums sums(p.B, size_t(4) * np * np);
  parallelGroups(threads, sums, [&](int, int g0, int g1) { lstm_backward(p, Mb.data(), sums, g0, g1, dh0, dc0); });
  for (int q = 0; q < 4; q++)
    for (int u = 0; u < n; u++)
      for (int j = 0; j < n; j++) dw[size_t(q * n + u) * n + j] = float(sums.total(size_t(q * np + u) * np + j));
}


// ---------------------------------------------------------------------------------------------
// Affine rows: Y = f(X) W + c over N rows (X [N, k], W [k, m], f = identity or ReLU), the input
// projection and the readout around the scans, and its gradient in one pass over the rows:
// dX = (dY Wᵀ) ⊙ f'(X) (optional), dW = f(X)ᵀ dY, dc = Σ_rows dY. Zero entries of f(X) are
// skipped (one-hot inputs, ReLU zeros). Weight sums: float32 over blocks of ROW_BLOCK rows,
// then float64 across blocks and threads.

constexpr int ROW_BLOCK = 256;

// y[0..len) += a · x[0..len)
inline void axpy(float* y, const float* x, float a, int len) {
  int i = 0;
  const v8 av = splat(a);
  for (; i + 8 <= len; i += 8) st(y + i, ld(y + i) + av * ld(x + i));
  for (; i < len; i++) y[i] += a * x[i];
}

inline v8 reluIf(v8 a, bool relu) {
  if (!relu) return a;
  const v8i keep = a > splat(0.f);
  return (v8)((v8i)a & keep);
}

// y[q] = c[q] + f(x)·Wt[q] for J outputs at once: x is read once, J accumulators in registers.
template <int J>
void dots(const float* x, int k, bool relu, const float* Wt, const float* c, float* y) {
  v8 acc[J];
  for (int q = 0; q < J; q++) acc[q] = splat(0.f);
  int i = 0;
  for (; i + 8 <= k; i += 8) {
    const v8 a = reluIf(ld(x + i), relu);
    for (int q = 0; q < J; q++) acc[q] += a * ld(Wt + size_t(q) * k + i);
  }
  for (int q = 0; q < J; q++) {
    float s = 0.f;
    for (int l = 0; l < 8; l++) s += acc[q][l];
    for (int t = i; t < k; t++) s += (relu && x[t] < 0.f ? 0.f : x[t]) * Wt[size_t(q) * k + t];
    y[q] = c[q] + s;
  }
}

inline void dotsDispatch(int J, const float* x, int k, bool relu, const float* Wt, const float* c, float* y) {
  switch (J) {
    case 1: return dots<1>(x, k, relu, Wt, c, y);
    case 2: return dots<2>(x, k, relu, Wt, c, y);
    case 3: return dots<3>(x, k, relu, Wt, c, y);
    case 4: return dots<4>(x, k, relu, Wt, c, y);
    case 5: return dots<5>(x, k, relu, Wt, c, y);
    case 6: return dots<6>(x, k, relu, Wt, c, y);
    case 7: return dots<7>(x, k, relu, Wt, c, y);
    default: return dots<8>(x, k, relu, Wt, c, y);
  }
}

struct Affine {
  int N, k, m, relu;
  const float* X;
  const float* W;
  const float* c;
};

int affineThreads(int requested, const Affine& p) {
  const double work = double(p.N) * p.k * p.m;
  int t = std::max(1, std::min(requested, p.N / ROW_BLOCK));
  if (work < 4e6) t = 1;
  return t;
}

// Rows split into chunkCount(N) fixed chunks on ROW_BLOCK boundaries (fixed by N, not by the
// thread count); body(chunk, r0, r1) runs once per chunk, a thread taking whole chunks. Sums
// kept per chunk and added in chunk order are the same whatever the thread count.
constexpr int ROW_CHUNKS = 16;

inline int chunkCount(int N) { return std::max(1, std::min(ROW_CHUNKS, (N + ROW_BLOCK - 1) / ROW_BLOCK)); }

template <class F>
void parallelBlocks(int threads, int N, F body) {
  const int blocks = (N + ROW_BLOCK - 1) / ROW_BLOCK, chunks = chunkCount(N);
  auto start = [&](int c) { return std::min(N, (blocks * c / chunks) * ROW_BLOCK); };
  threads = std::max(1, std::min(threads, chunks));
  auto run = [&](int q) {
    for (int c = chunks * q / threads; c < chunks * (q + 1) / threads; c++) body(c, start(c), c + 1 == chunks ? N : start(c + 1));
  };
  if (threads <= 1) {
    run(0);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int q = 1; q < threads; q++) pool.emplace_back(run, q);
  run(0);
  for (auto& th : pool) th.join();
}

void affineForward(const Affine& p, float* Y, int threads) {
  const int k = p.k, m = p.m;
  // Small m (readout): dots against Wᵀ rows; otherwise axpy of W rows for the non-zero inputs.
  const bool byDot = m < 16;
  std::vector<float> Wt;
  if (byDot) {
    Wt.resize(size_t(m) * k);
    for (int i = 0; i < k; i++)
      for (int j = 0; j < m; j++) Wt[size_t(j) * k + i] = p.W[size_t(i) * m + j];
  }
  parallelBlocks(affineThreads(threads, p), p.N, [&](int, int r0, int r1) {
    std::vector<float> a(k);
    for (int r = r0; r < r1; r++) {
      const float* x = p.X + size_t(r) * k;
      float* y = Y + size_t(r) * m;
      if (byDot) {
        for (int j0 = 0; j0 < m; j0 += 8) dotsDispatch(std::min(8, m - j0), x, k, p.relu, &Wt[size_t(j0) * k], p.c + j0, y + j0);
      } else {
        for (int i = 0; i < k; i++) a[i] = p.relu && x[i] < 0.f ? 0.f : x[i];
        std::memcpy(y, p.c, sizeof(float) * m);
        for (int i = 0; i < k; i++)
          if (a[i] != 0.f) axpy(y, p.W + size_t(i) * m, a[i], m);
      }
    }
  });
}

// The transposed (k ≥ m) gradient for R consecutive rows in one sweep over the columns in
// vectors of 8: dWᵀ[j] += Σ_rows g_j·f(x) (one load and store of dWᵀ per R rows) and
// dx = (Σ_j g_j·Wᵀ[j]) ⊙ f'(x); x and dx touched once.
template <int R>
void backwardRowsT(const Affine& p, int r, const float* dY, float* dX, const float* Wt, float* wacc, v8* gs) {
  const int k = p.k, m = p.m;
  const float* x[R];
  float* d[R];
  for (int q = 0; q < R; q++) {
    x[q] = p.X + size_t(r + q) * k;
    d[q] = dX ? dX + size_t(r + q) * k : nullptr;
    const float* g = dY + size_t(r + q) * m;
    for (int j = 0; j < m; j++) gs[q * m + j] = splat(g[j]);
  }
  int i = 0;
  for (; i + 8 <= k; i += 8) {
    v8 xv[R], av[R], dv[R];
    for (int q = 0; q < R; q++) {
      xv[q] = ld(x[q] + i);
      av[q] = reluIf(xv[q], p.relu);
      dv[q] = splat(0.f);
    }
    for (int j = 0; j < m; j++) {
      float* w = wacc + size_t(j) * k + i;
      const v8 wt = ld(Wt + size_t(j) * k + i);
      v8 acc = ld(w);
      for (int q = 0; q < R; q++) {
        acc += gs[q * m + j] * av[q];
        dv[q] += gs[q * m + j] * wt;
      }
      st(w, acc);
    }
    if (dX)
      for (int q = 0; q < R; q++) st(d[q] + i, p.relu ? (v8)((v8i)dv[q] & (xv[q] > splat(0.f))) : dv[q]);
  }
  for (; i < k; i++) {
    for (int q = 0; q < R; q++) {
      const float xi = x[q][i];
      const float av = p.relu && xi < 0.f ? 0.f : xi;
      float dv = 0.f;
      for (int j = 0; j < m; j++) {
        const float gj = gs[q * m + j][0];
        wacc[size_t(j) * k + i] += gj * av;
        dv += gj * Wt[size_t(j) * k + i];
      }
      if (dX) d[q][i] = p.relu && !(xi > 0.f) ? 0.f : dv;
    }
  }
}

void affineBackward(const Affine& p, const float* dY, float* dX, float* dW, float* dc, int threads) {
  const int k = p.k, m = p.m;
  threads = affineThreads(threads, p);
  // dW accumulates as dWᵀ [m, k] (axpy over k per output) when k ≥ m, else as dW [k, m].
  const bool transposed = k >= m;
  std::vector<float> Wt(size_t(m) * k);
  for (int i = 0; i < k; i++)
    for (int j = 0; j < m; j++) Wt[size_t(j) * k + i] = p.W[size_t(i) * m + j];
  const size_t wl = size_t(k) * m;
  const int chunks = chunkCount(p.N);
  std::vector<std::vector<double>> wsum(chunks, std::vector<double>(wl, 0.0));
  std::vector<std::vector<double>> csum(chunks, std::vector<double>(m, 0.0));
  parallelBlocks(threads, p.N, [&](int q, int r0, int r1) {
    std::vector<float> a(k), wacc(wl), cacc(m);
    std::vector<v8> gs(size_t(4) * m);
    double* ws = wsum[q].data();
    double* cs = csum[q].data();
    for (int b0 = r0; b0 < r1; b0 += ROW_BLOCK) {
      const int b1 = std::min(r1, b0 + ROW_BLOCK);
      std::fill(wacc.begin(), wacc.end(), 0.f);
      std::fill(cacc.begin(), cacc.end(), 0.f);
      if (transposed) {
        int r = b0;
        for (; r + 4 <= b1; r += 4) backwardRowsT<4>(p, r, dY, dX, Wt.data(), wacc.data(), gs.data());
        for (; r < b1; r++) backwardRowsT<1>(p, r, dY, dX, Wt.data(), wacc.data(), gs.data());
      }
      for (int r = b0; r < b1; r++) {
        const float* x = p.X + size_t(r) * k;
        const float* g = dY + size_t(r) * m;
        for (int j = 0; j < m; j++) cacc[j] += g[j];
        if (transposed) continue;  // done above, R rows at a time
        for (int i = 0; i < k; i++) a[i] = p.relu && x[i] < 0.f ? 0.f : x[i];
        for (int i = 0; i < k; i++)
          if (a[i] != 0.f) axpy(&wacc[size_t(i) * m], g, a[i], m);
        if (dX) {
          float* d = dX + size_t(r) * k;
          std::fill(d, d + k, 0.f);
          for (int j = 0; j < m; j++)
            if (g[j] != 0.f) axpy(d, &Wt[size_t(j) * k], g[j], k);
          if (p.relu)
            for (int i = 0; i < k; i++)
              if (!(x[i] > 0.f)) d[i] = 0.f;
        }
      }
      for (size_t e = 0; e < wl; e++) ws[e] += wacc[e];
      for (int j = 0; j < m; j++) cs[j] += cacc[j];
    }
  });
  for (int i = 0; i < k; i++)
    for (int j = 0; j < m; j++) {
      const size_t e = transposed ? size_t(j) * k + i : size_t(i) * m + j;
      double s = 0.0;
      for (int q = 0; q < chunks; q++) s += wsum[q][e];
      dW[size_t(i) * m + j] = float(s);
    }
  for (int j = 0; j < m; j++) {
    double s = 0.0;
    for (int q = 0; q < chunks; q++) s += csum[q][j];
    dc[j] = float(s);
  }
}


// ---------------------------------------------------------------------------------------------
// Readout + mean softmax cross-entropy over N rows: logits Y = f(X) W + c (N·m floats, small),
// loss = mean_r (logsumexp(Y[r]) − Y[r, t_r]); the gradient recomputes Y, forms
// dY = (softmax(Y) − onehot(t))·scale per row and runs the affine gradient on it.

// Softmax cross-entropy of the rows [r0, r1) of Y; with G, also G[r] = (softmax − onehot)·scale.
double crossEntropyRows(const float* Y, const int32_t* t, int m, int r0, int r1, float* G, float scale) {
  double loss = 0.0;
  std::vector<float> e(m);
  for (int r = r0; r < r1; r++) {
    const float* y = Y + size_t(r) * m;
    float mx = y[0];
    for (int j = 1; j < m; j++) mx = std::max(mx, y[j]);
    float s = 0.f;
    for (int j = 0; j < m; j++) s += (e[j] = std::exp(y[j] - mx));
    loss += double(std::log(s)) + mx - y[t[r]];
    if (G) {
      float* g = G + size_t(r) * m;
      const float inv = scale / s;
      for (int j = 0; j < m; j++) g[j] = e[j] * inv;
      g[t[r]] -= scale;
    }
  }
  return loss;
}

double readoutCrossEntropy(const Affine& p, const int32_t* t, int threads, float* G, float scale) {
  std::vector<float> Y(size_t(p.N) * p.m);
  affineForward(p, Y.data(), threads);
  threads = affineThreads(threads, p);
  std::vector<double> part(chunkCount(p.N), 0.0);
  parallelBlocks(threads, p.N, [&](int q, int r0, int r1) { part[q] = crossEntropyRows(Y.data(), t, p.m, r0, r1, G, scale); });
  double loss = 0.0;
  for (double v : part) loss += v;
  return loss;
}

napi_value Forward(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value a[14];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 14) throw ArgError{"forward expects 14 arguments"};
    Problem p{};
    int threads = 1;
    parseProblem(env, a, p, threads);
    const KronStage kron = p.kind == HADAMARD ? parseKron(env, a[12], a[13], p.n, p.m) : KronStage{};
    p.kron = &kron;
    const size_t size = size_t(p.T) * p.B * p.n;
    p.z = getF32(env, a[7], size, "z", false);
    p.w = getF32(env, a[8], p.kind == DENSE ? size_t(p.n) * p.n : size_t(p.n), p.kind == DENSE ? "W" : "s", false);
    p.h0 = getF32(env, a[9], size_t(p.B) * p.n, "h0", true);
    p.bias = getF32(env, a[10], p.n, "bias", p.act != MODRELU);
    p.H = getF32(env, a[11], size, "out", false);
    runForward(p, threads);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.forward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.forward: ") + e.what()).c_str());
  }
  return nullptr;
}

napi_value Backward(napi_env env, napi_callback_info info) {
  size_t argc = 18;
  napi_value a[18];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 18) throw ArgError{"backward expects 18 arguments"};
    Problem p{};
    int threads = 1;
    parseProblem(env, a, p, threads);
    const KronStage kron = p.kind == HADAMARD ? parseKron(env, a[16], a[17], p.n, p.m) : KronStage{};
    p.kron = &kron;
    const size_t size = size_t(p.T) * p.B * p.n;
    const size_t wlen = p.kind == DENSE ? size_t(p.n) * p.n : size_t(p.n);
    p.w = getF32(env, a[7], wlen, p.kind == DENSE ? "W" : "s", false);
    p.h0 = getF32(env, a[8], size_t(p.B) * p.n, "h0", true);
    p.bias = getF32(env, a[9], p.n, "bias", p.act != MODRELU);
    p.H = getF32(env, a[10], size, "H", false);
    p.dH = getF32(env, a[11], size, "dH", false);
    p.dz = getF32(env, a[12], size, "dz", false);
    float* dw = getF32(env, a[13], wlen, "dw", false);
    float* dh0 = getF32(env, a[14], size_t(p.B) * p.n, "dh0", true);
    float* dbias = getF32(env, a[15], p.n, "dbias", p.act != MODRELU);
    if (!p.h0 && dh0) throw ArgError{"dh0 given without h0"};
    runBackward(p, threads, dw, dh0, dbias);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.backward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.backward: ") + e.what()).c_str());
  }
  return nullptr;
}

void parseLstm(napi_env env, napi_value* a, Lstm& p, int& threads) {
  p.T = getInt(env, a[0], "T");
  p.B = getInt(env, a[1], "B");
  p.n = getInt(env, a[2], "n");
  threads = getInt(env, a[3], "threads");
  if (p.T < 1 || p.B < 1 || p.n < 1) throw ArgError{"T, B and n must be positive"};
}

// lstmForward(T, B, n, threads, gates, W_hh, h0|null, c0|null, H, C, S)
napi_value LstmForward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 11) throw ArgError{"lstmForward expects 11 arguments"};
    Lstm p{};
    int threads = 1;
    parseLstm(env, a, p, threads);
    const size_t size = size_t(p.T) * p.B * p.n;
    p.gates = getF32(env, a[4], 4 * size, "gates", false);
    p.w = getF32(env, a[5], size_t(4) * p.n * p.n, "W_hh", false);
    p.h0 = getF32(env, a[6], size_t(p.B) * p.n, "h0", true);
    p.c0 = getF32(env, a[7], size_t(p.B) * p.n, "c0", true);
    p.H = getF32(env, a[8], size, "H", false);
    p.C = getF32(env, a[9], size, "C", false);
    p.S = getF32(env, a[10], 4 * size, "S", false);
    runLstmForward(p, threads);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.lstmForward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.lstmForward: ") + e.what()).c_str());
  }
  return nullptr;
}

// lstmBackward(T, B, n, threads, W_hh, h0|null, c0|null, H, C, S, dH, dgates, dW, dh0|null, dc0|null)
napi_value LstmBackward(napi_env env, napi_callback_info info) {
  size_t argc = 15;
  napi_value a[15];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 15) throw ArgError{"lstmBackward expects 15 arguments"};
    Lstm p{};
    int threads = 1;
    parseLstm(env, a, p, threads);
    const size_t size = size_t(p.T) * p.B * p.n, wlen = size_t(4) * p.n * p.n;
    p.w = getF32(env, a[4], wlen, "W_hh", false);
    p.h0 = getF32(env, a[5], size_t(p.B) * p.n, "h0", true);
    p.c0 = getF32(env, a[6], size_t(p.B) * p.n, "c0", true);
    p.H = getF32(env, a[7], size, "H", false);
    p.C = getF32(env, a[8], size, "C", false);
    p.S = getF32(env, a[9], 4 * size, "S", false);
    p.dH = getF32(env, a[10], size, "dH", false);
    p.dgates = getF32(env, a[11], 4 * size, "dgates", false);
    float* dw = getF32(env, a[12], wlen, "dW", false);
    float* dh0 = getF32(env, a[13], size_t(p.B) * p.n, "dh0", true);
    float* dc0 = getF32(env, a[14], size_t(p.B) * p.n, "dc0", true);
    runLstmBackward(p, threads, dw, dh0, dc0);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.lstmBackward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.lstmBackward: ") + e.what()).c_str());
  }
  return nullptr;
}

const char* simdName() {
#if defined(__AVX512F__)
  return "avx512f";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2+fma";
#elif defined(__AVX__)
  return "avx";
#elif defined(__SSE2__)
  return "sse2";
#elif defined(__ARM_NEON)
  return "neon";
#else
  return "generic";
#endif
}

napi_value Info(napi_env env, napi_callback_info) {
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, simdName(), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "simd", v);
  napi_create_int32(env, int32_t(std::max(1u, std::thread::hardware_concurrency())), &v);
  napi_set_named_property(env, out, "hardwareThreads", v);
  napi_create_string_utf8(env, __VERSION__, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, out, "compiler", v);
  // Whether this CPU (and OS) runs AVX2 and FMA code: src/native.ts asks the baseline addon
  // before it loads the -mavx2 -mfma build (binding.gyp).
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  const bool avx2Fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  const bool avx2Fma = false;
#endif
  napi_get_boolean(env, avx2Fma, &v);
  napi_set_named_property(env, out, "cpuAvx2Fma", v);
  // Whether this build's dense fused step can run its AVX-512 products here (gemm-avx512.h).
  napi_get_boolean(env, gemmAvx512(), &v);
  napi_set_named_property(env, out, "denseAvx512", v);
  return out;
}


void parseAffine(napi_env env, napi_value* a, Affine& p, int& threads) {
  p.N = getInt(env, a[0], "N");
  p.k = getInt(env, a[1], "k");
  p.m = getInt(env, a[2], "m");
  p.relu = getInt(env, a[3], "relu");
  threads = getInt(env, a[4], "threads");
  if (p.N < 0 || p.k < 1 || p.m < 1) throw ArgError{"N must be non-negative, k and m positive"};
  p.X = getF32(env, a[5], size_t(p.N) * p.k, "x", false);
  p.W = getF32(env, a[6], size_t(p.k) * p.m, "W", false);
}

// affineForward(N, k, m, relu, threads, x, W, c, y)
napi_value AffineForward(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value a[9];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 9) throw ArgError{"affineForward expects 9 arguments"};
    Affine p{};
    int threads = 1;
    parseAffine(env, a, p, threads);
    p.c = getF32(env, a[7], p.m, "c", false);
    float* Y = getF32(env, a[8], size_t(p.N) * p.m, "y", false);
    affineForward(p, Y, threads);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.affineForward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.affineForward: ") + e.what()).c_str());
  }
  return nullptr;
}

// affineBackward(N, k, m, relu, threads, x, W, dy, dx|null, dW, dc)
napi_value AffineBackward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value a[11];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 11) throw ArgError{"affineBackward expects 11 arguments"};
    Affine p{};
    int threads = 1;
    parseAffine(env, a, p, threads);
    const float* dY = getF32(env, a[7], size_t(p.N) * p.m, "dy", false);
    float* dX = getF32(env, a[8], size_t(p.N) * p.k, "dx", true);
    float* dW = getF32(env, a[9], size_t(p.k) * p.m, "dW", false);
    float* dc = getF32(env, a[10], p.m, "dc", false);
    affineBackward(p, dY, dX, dW, dc, threads);
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.affineBackward: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.affineBackward: ") + e.what()).c_str());
  }
  return nullptr;
}



// readoutCrossEntropy(N, k, m, relu, threads, x, W, c, targets, scale, dx|null, dW|null, dc|null) → Σ loss
// (with dW: the gradient of scale·Σ loss as well).
napi_value ReadoutCrossEntropy(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value a[13];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  try {
    if (argc != 13) throw ArgError{"readoutCrossEntropy expects 13 arguments"};
    Affine p{};
    int threads = 1;
    parseAffine(env, a, p, threads);
    p.c = getF32(env, a[7], p.m, "c", false);
    const int32_t* t = getTargets(env, a[8], size_t(p.N), p.m);
    double scale = 0.0;
    if (napi_get_value_double(env, a[9], &scale) != napi_ok) throw ArgError{"scale must be a number"};
    float* dX = getF32(env, a[10], size_t(p.N) * p.k, "dx", true);
    float* dW = getF32(env, a[11], size_t(p.k) * p.m, "dW", true);
    float* dc = getF32(env, a[12], p.m, "dc", dW == nullptr);
    double loss;
    if (dW) {
      std::vector<float> G(size_t(p.N) * p.m);
      loss = readoutCrossEntropy(p, t, threads, G.data(), float(scale));
      affineBackward(p, G.data(), dX, dW, dc, threads);
    } else {
      loss = readoutCrossEntropy(p, t, threads, nullptr, 0.f);
    }
    napi_value out;
    napi_create_double(env, loss, &out);
    return out;
  } catch (const ArgError& e) {
    napi_throw_error(env, nullptr, ("orthoquant_kernels.readoutCrossEntropy: " + e.msg).c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("orthoquant_kernels.readoutCrossEntropy: ") + e.what()).c_str());
  }
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"forward", nullptr, Forward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"backward", nullptr, Backward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmForward", nullptr, LstmForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"lstmBackward", nullptr, LstmBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"affineForward", nullptr, AffineForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"affineBackward", nullptr, AffineBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"readoutCrossEntropy", nullptr, ReadoutCrossEntropy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reversibleBackward", nullptr, oq::ReversibleBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fusedStepForward", nullptr, oq::FusedStepForward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"fusedStepBackward", nullptr, oq::FusedStepBackward, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"integerQuantizeInputs", nullptr, oq::IntegerQuantizeInputsEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"integerHadamRnn", nullptr, oq::IntegerHadamRnnEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"integerOrnn", nullptr, oq::IntegerOrnnEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"floatHadamRnn", nullptr, oq::FloatHadamRnnEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
