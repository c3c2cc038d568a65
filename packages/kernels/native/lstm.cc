// Fused LSTM scan (forward + BPTT backward), same math as src/lstm-js.ts. Gate order i, f, g, o.
// Gates live in a padded layout inside the kernels: gate q occupies columns [q·np, q·np + n) of a
// 4·np-wide row (np = n rounded up to 16), so that a 16-column tile never straddles two gates and
// every lane loop runs over whole vectors. Padded lanes hold zeros in h and c and never reach an
// output. dW_hh sums use GroupSums (parallel.h): the result does not depend on the thread count.
#include "common.h"

namespace oq {
namespace {


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

void parseLstm(const Args& a, Lstm& p, int& threads) {
  p.T = a.i32(0, "T");
  p.B = a.i32(1, "B");
  p.n = a.i32(2, "n");
  threads = a.i32(3, "threads");
  if (p.T < 1 || p.B < 1 || p.n < 1) throw ArgError{"T, B and n must be positive"};
}

}  // namespace

// lstmForward(T, B, n, threads, gates, W_hh, h0|null, c0|null, H, C, S)
napi_value LstmForward(const Args& a) {
  Lstm p{};
  int threads = 1;
  parseLstm(a, p, threads);
  const size_t size = size_t(p.T) * p.B * p.n;
  p.gates = a.f32(4, 4 * size, "gates");
  p.w = a.f32(5, size_t(4) * p.n * p.n, "W_hh");
  p.h0 = a.f32OrNull(6, size_t(p.B) * p.n, "h0");
  p.c0 = a.f32OrNull(7, size_t(p.B) * p.n, "c0");
  p.H = a.f32(8, size, "H");
  p.C = a.f32(9, size, "C");
  p.S = a.f32(10, 4 * size, "S");
  runLstmForward(p, threads);
  return nullptr;
}

// lstmBackward(T, B, n, threads, W_hh, h0|null, c0|null, H, C, S, dH, dgates, dW, dh0|null, dc0|null)
napi_value LstmBackward(const Args& a) {
  Lstm p{};
  int threads = 1;
  parseLstm(a, p, threads);
  const size_t size = size_t(p.T) * p.B * p.n, wlen = size_t(4) * p.n * p.n;
  p.w = a.f32(4, wlen, "W_hh");
  p.h0 = a.f32OrNull(5, size_t(p.B) * p.n, "h0");
  p.c0 = a.f32OrNull(6, size_t(p.B) * p.n, "c0");
  p.H = a.f32(7, size, "H");
  p.C = a.f32(8, size, "C");
  p.S = a.f32(9, 4 * size, "S");
  p.dH = a.f32(10, size, "dH");
  p.dgates = a.f32(11, 4 * size, "dgates");
  float* dw = a.f32(12, wlen, "dW");
  float* dh0 = a.f32OrNull(13, size_t(p.B) * p.n, "dh0");
  float* dc0 = a.f32OrNull(14, size_t(p.B) * p.n, "dc0");
  runLstmBackward(p, threads, dw, dh0, dc0);
  return nullptr;
}

}  // namespace oq
