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
// dbias sums are kept per fixed group of rows (GroupSums in parallel.h: float blocks of SUM_FLUSH
// steps, double across blocks and groups), so the gradients do not depend on the thread count.
// Shared primitives live in common.h; reversible BPTT in reversible.cc, the LSTM in lstm.cc, the
// affine rows and the readout loss in affine.cc.
#include "common.h"
#include "kron.h"

namespace oq {
namespace {

struct Problem {
  int kind, act, T, B, n, m;
  const KronStage* kron;  // hadamard with m = p·2^k, p > 1 (else null: the fast WHT alone)
  const float* z;     // [T, B, n]
  const float* w;     // W [n, n] or s [n]
  const float* h0;    // [B, n] or null
  const float* bias;  // [n] or null
  float* H;           // [T, B, n] (output of forward, input of backward)
  const float* dH;    // [T, B, n] (backward)
  float* dz;          // [T, B, n] (backward)
};

void parseProblem(const Args& a, Problem& p, int& threads) {
  p.kind = a.i32(0, "kind");
  p.act = a.i32(1, "activation");
  p.T = a.i32(2, "T");
  p.B = a.i32(3, "B");
  p.n = a.i32(4, "n");
  p.m = a.i32(5, "blockSize");
  threads = a.i32(6, "threads");
  if (p.kind != DENSE && p.kind != HADAMARD) throw ArgError{"kind must be 0 (dense) or 1 (hadamard)"};
  if (p.act < 0 || p.act > 3) throw ArgError{"activation code must be 0..3"};
  if (p.T < 1 || p.B < 1 || p.n < 1) throw ArgError{"T, B and n must be positive"};
  if (p.kind == HADAMARD && (p.m < 1 || p.n % p.m)) throw ArgError{"blockSize must divide n"};  // its order: parseKron
}

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

}  // namespace

// forward(kind, activation, T, B, n, blockSize, threads, z, w, h0|null, bias|null, out, p, hp|null)
napi_value ScanForward(const Args& a) {
  Problem p{};
  int threads = 1;
  parseProblem(a, p, threads);
  const KronStage kron = p.kind == HADAMARD ? parseKron(a.env, a[12], a[13], p.n, p.m) : KronStage{};
  p.kron = &kron;
  const size_t size = size_t(p.T) * p.B * p.n;
  p.z = a.f32(7, size, "z");
  p.w = a.f32(8, p.kind == DENSE ? size_t(p.n) * p.n : size_t(p.n), p.kind == DENSE ? "W" : "s");
  p.h0 = a.f32OrNull(9, size_t(p.B) * p.n, "h0");
  p.bias = a.f32OrNull(10, p.n, "bias", p.act != MODRELU);
  p.H = a.f32(11, size, "out");
  runForward(p, threads);
  return nullptr;
}

// backward(kind, activation, T, B, n, blockSize, threads, w, h0|null, bias|null, H, dH, dz, dw, dh0|null, dbias|null, p, hp|null)
napi_value ScanBackward(const Args& a) {
  Problem p{};
  int threads = 1;
  parseProblem(a, p, threads);
  const KronStage kron = p.kind == HADAMARD ? parseKron(a.env, a[16], a[17], p.n, p.m) : KronStage{};
  p.kron = &kron;
  const size_t size = size_t(p.T) * p.B * p.n;
  const size_t wlen = p.kind == DENSE ? size_t(p.n) * p.n : size_t(p.n);
  p.w = a.f32(7, wlen, p.kind == DENSE ? "W" : "s");
  p.h0 = a.f32OrNull(8, size_t(p.B) * p.n, "h0");
  p.bias = a.f32OrNull(9, p.n, "bias", p.act != MODRELU);
  p.H = a.f32(10, size, "H");
  p.dH = a.f32(11, size, "dH");
  p.dz = a.f32(12, size, "dz");
  float* dw = a.f32(13, wlen, "dw");
  float* dh0 = a.f32OrNull(14, size_t(p.B) * p.n, "dh0");
  float* dbias = a.f32OrNull(15, p.n, "dbias", p.act != MODRELU);
  if (!p.h0 && dh0) throw ArgError{"dh0 given without h0"};
  runBackward(p, threads, dw, dh0, dbias);
  return nullptr;
}

}  // namespace oq
