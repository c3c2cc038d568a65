// Affine rows: Y = f(X) W + c over N rows (X [N, k], W [k, m], f = identity or ReLU), the input
// projection and the readout around the scans, and its gradient in one pass over the rows:
// dX = (dY Wᵀ) ⊙ f'(X) (optional), dW = f(X)ᵀ dY, dc = Σ_rows dY. Zero entries of f(X) are
// skipped (one-hot inputs, ReLU zeros). Weight sums: float32 over blocks of ROW_BLOCK rows,
// then float64 across blocks and threads.
// Also the readout's mean softmax cross-entropy on top of it (readoutCrossEntropy).
#include "common.h"

namespace oq {
namespace {

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

void parseAffine(const Args& a, Affine& p, int& threads) {
  p.N = a.i32(0, "N");
  p.k = a.i32(1, "k");
  p.m = a.i32(2, "m");
  p.relu = a.i32(3, "relu");
  threads = a.i32(4, "threads");
  if (p.N < 0 || p.k < 1 || p.m < 1) throw ArgError{"N must be non-negative, k and m positive"};
  p.X = a.f32(5, size_t(p.N) * p.k, "x");
  p.W = a.f32(6, size_t(p.k) * p.m, "W");
}

}  // namespace

// affineForward(N, k, m, relu, threads, x, W, c, y)
napi_value AffineForward(const Args& a) {
  Affine p{};
  int threads = 1;
  parseAffine(a, p, threads);
  p.c = a.f32(7, p.m, "c");
  float* Y = a.f32(8, size_t(p.N) * p.m, "y");
  affineForward(p, Y, threads);
  return nullptr;
}

// affineBackward(N, k, m, relu, threads, x, W, dy, dx|null, dW, dc)
napi_value AffineBackward(const Args& a) {
  Affine p{};
  int threads = 1;
  parseAffine(a, p, threads);
  const float* dY = a.f32(7, size_t(p.N) * p.m, "dy");
  float* dX = a.f32OrNull(8, size_t(p.N) * p.k, "dx");
  float* dW = a.f32(9, size_t(p.k) * p.m, "dW");
  float* dc = a.f32(10, p.m, "dc");
  affineBackward(p, dY, dX, dW, dc, threads);
  return nullptr;
}

// readoutCrossEntropy(N, k, m, relu, threads, x, W, c, targets, scale, dx|null, dW|null, dc|null) → Σ loss
// (with dW: the gradient of scale·Σ loss as well).
napi_value ReadoutCrossEntropy(const Args& a) {
  Affine p{};
  int threads = 1;
  parseAffine(a, p, threads);
  p.c = a.f32(7, p.m, "c");
  const int32_t* t = a.targets(8, size_t(p.N), p.m);
  const double scale = a.f64(9, "scale");
  float* dX = a.f32OrNull(10, size_t(p.N) * p.k, "dx");
  float* dW = a.f32OrNull(11, size_t(p.k) * p.m, "dW");
  float* dc = a.f32OrNull(12, p.m, "dc", dW == nullptr);
  double loss;
  if (dW) {
    std::vector<float> G(size_t(p.N) * p.m);
    loss = readoutCrossEntropy(p, t, threads, G.data(), float(scale));
    affineBackward(p, G.data(), dX, dW, dc, threads);
  } else {
    loss = readoutCrossEntropy(p, t, threads, nullptr, 0.f);
  }
  return a.number(loss);
}

}  // namespace oq
