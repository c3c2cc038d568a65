// The whole LSTM training loss as one op (same math as src/lstm-loss.ts): input projection (float
// rows or a gather of rows of Wx), the LSTM recurrence, the readout and the mean softmax
// cross-entropy over all T·B steps (or over the B rows of the last step), with every parameter
// gradient by checkpointed BPTT. Gate order i, f, g, o:
//
//   a_t = x_t Wx + b + h_{t−1} Wh          (Wx [k, 4n], b [4n], Wh [n, 4n]; index inputs: Wx[i_t] + b)
//   c_t = σ(a_f) ⊙ c_{t−1} + σ(a_i) ⊙ tanh(a_g),   h_t = σ(a_o) ⊙ tanh(c_t)
//   y_t = f(h_t) V + c,   L = mean over the read-out rows of logsumexp(y) − y[target]   (readout-loss.h)
//
// The forward keeps (h, c) after the steps K−1, 2K−1, … (the checkpoints, [⌊T/K⌋, B, 2n]) and
// nothing else of size T. The backward takes the segments [jK, (j+1)K) from the last to the first:
// for this thread's rows it recomputes the segment's h, c and gate activations from the checkpoint
// before it (K·rows·6n floats of scratch), then runs BPTT through them:
//   dh = (g Vᵀ) ⊙ f'(h) + carry_h,  tc = tanh(c_t),  dc = carry_c + dh·o·(1 − tc²),
//   da_i = dc·g·i(1−i), da_f = dc·c_{t−1}·f(1−f), da_g = dc·i·(1−g²), da_o = dh·tc·o(1−o),
//   carry_c = dc·f,  carry_h = da Whᵀ,  dWh += h_{t−1}ᵀ da,  dWx += x_tᵀ da,  db += da.
// Gates live in a padded layout (gate q at columns [q·np, q·np + n) of a 4·np row, np = n rounded
// up to 16) as in the LSTM scan; padded lanes stay zero. Sums use GroupSums (common.h): the
// numbers do not depend on the thread count.
#include "common.h"
#include "fused-loss.h"
#include "readout-loss.h"

namespace oq {
namespace {

// x, V, c and the targets: FusedLoss (x indexes the rows of Wx); flags: LOSS_* (fused-loss.h).
struct LstmLoss : FusedLoss {
  int checkpointEvery;
  const float* Wx;         // [k, 4n]
  const float* b;          // [4n]
  const float* Wh;         // [n, 4n]
  const float* h0;         // [B, n] or null
  const float* c0;         // [B, n] or null
  // Segment length: the checkpoint spacing, or the whole sequence without checkpoints.
  int segment() const { return checkpointEvery > 0 ? checkpointEvery : T; }
  size_t checkpointLen() const { return checkpointEvery > 0 ? size_t(T / checkpointEvery) * B * 2 * n : 0; }
};

// The weights in the padded gate layout, built once per call.
struct Padded {
  int np, w4;
  std::vector<float> Wx;  // [k, 4np]
  std::vector<float> b;   // [4np]
  std::vector<float> Mf;  // [np, 4np]: Mf[j, q·np + u] = Wh[j, q·n + u]   (a = h Mf)
  std::vector<float> Mb;  // [4np, np]: Mb[q·np + u, j] = Wh[j, q·n + u]   (carry = da Mb)
  std::vector<float> Vt;  // Vᵀ [classes, n]
  explicit Padded(const LstmLoss& p) : np(padded(p.n)), w4(4 * padded(p.n)) {
    const int n = p.n;
    Wx.assign(size_t(p.k) * w4, 0.f);
    b.assign(w4, 0.f);
    Mf.assign(size_t(np) * w4, 0.f);
    Mb.assign(size_t(w4) * np, 0.f);
    for (int q = 0; q < 4; q++)
      for (int u = 0; u < n; u++) {
        b[q * np + u] = p.b[q * n + u];
        for (int j = 0; j < p.k; j++) Wx[size_t(j) * w4 + q * np + u] = p.Wx[size_t(j) * 4 * n + q * n + u];
        for (int j = 0; j < n; j++) {
          const float w = p.Wh[size_t(j) * 4 * n + q * n + u];
          Mf[size_t(j) * w4 + q * np + u] = w;
          Mb[size_t(q * np + u) * np + j] = w;
        }
      }
    Vt = transposeReadout(p.V, n, p.classes);
  }
};

// a = b + x_row Wx (padded, 4np wide; zero entries of x skipped: a one-hot row is one row of Wx).
inline void project(const LstmLoss& p, const Padded& w, size_t row, float* a) {
  std::memcpy(a, w.b.data(), sizeof(float) * w.w4);
  if (p.xi) {
    const float* u = &w.Wx[size_t(p.xi[row]) * w.w4];
    for (int i = 0; i < w.w4; i += 8) st(a + i, ld(a + i) + ld(u + i));
    return;
  }
  const float* xr = p.x + row * p.k;
  for (int j = 0; j < p.k; j++)
    if (xr[j] != 0.f) {
      const v8 s = splat(xr[j]);
      const float* u = &w.Wx[size_t(j) * w.w4];
      for (int i = 0; i < w.w4; i += 8) st(a + i, ld(a + i) + s * ld(u + i));
    }
}

// One step for `rows` rows: A [rows, 4np] holds the projections; adds h_{t−1} Mf (unless
// hasPrev), then the cell: c [rows, np] ← f c + i g, h [rows, np] ← o tanh(c), and, with S, the
// activations i, f, g, o [rows, 4np]. h and c may be the previous state's buffers (in place).
void step(const LstmLoss& p, const Padded& w, const float* hPrev, bool hasPrev, const float* cPrev, float* A, float* h, float* c, float* S, int rows) {
  const int n = p.n, np = w.np, w4 = w.w4;
  if (hasPrev) {
    auto store = [&](int r, int col, v8 a0, v8 a1) {
      float* ar = A + size_t(r) * w4 + col;
      st(ar, ld(ar) + a0);
      st(ar + 8, ld(ar + 8) + a1);
    };
    rowsTimesM(hPrev, rows, np, n, w.Mf.data(), w4, w4, store);
  }
  for (int r = 0; r < rows; r++) {
    const float* ar = A + size_t(r) * w4;
    const float* cp = cPrev ? cPrev + size_t(r) * np : nullptr;
    float* hr = h + size_t(r) * np;
    float* cr = c + size_t(r) * np;
    float* sr = S ? S + size_t(r) * w4 : nullptr;
    for (int j = 0; j < n; j += 8) {
      const v8 i = sigmoid8(ld(ar + j)), f = sigmoid8(ld(ar + np + j)), g = tanh8(ld(ar + 2 * np + j)), o = sigmoid8(ld(ar + 3 * np + j));
      v8 cv = f * (cp ? ld(cp + j) : splat(0.f)) + i * g;
      v8 hv = o * tanh8(cv);
      const int len = std::min(8, n - j);
      for (int l = len; l < 8; l++) cv[l] = 0.f, hv[l] = 0.f;  // padded lanes of the state stay zero
      st(cr + j, cv);
      st(hr + j, hv);
      if (sr) {
        st(sr + j, i);
        st(sr + np + j, f);
        st(sr + 2 * np + j, g);
        st(sr + 3 * np + j, o);
      }
    }
  }
}

// The state (h, c) entering step t0 = jK for the rows [b0, b0 + rows) into h, c [rows, np]:
// h0, c0 (zeros when absent) for j = 0, else checkpoint j − 1.
void startState(const LstmLoss& p, const float* checkpoints, int j, int b0, int rows, int np, float* h, float* c) {
  const int n = p.n;
  for (int r = 0; r < rows; r++) {
    const int b = b0 + r;
    float* hr = h + size_t(r) * np;
    float* cr = c + size_t(r) * np;
    std::fill(hr, hr + np, 0.f);
    std::fill(cr, cr + np, 0.f);
    if (j > 0) {
      const float* s = checkpoints + (size_t(j - 1) * p.B + b) * 2 * n;
      std::memcpy(hr, s, sizeof(float) * n);
      std::memcpy(cr, s + n, sizeof(float) * n);
    } else {
      if (p.h0) std::memcpy(hr, p.h0 + size_t(b) * n, sizeof(float) * n);
      if (p.c0) std::memcpy(cr, p.c0 + size_t(b) * n, sizeof(float) * n);
    }
  }
}

void forwardRows(const LstmLoss& p, const Padded& w, const GroupSums& groups, int g0, int g1, double* loss, float* checkpoints) {
  const int n = p.n, np = w.np, b0 = groups.rowBegin(g0), rows = groups.rowBegin(g1) - b0;
  const ReadoutLoss ro{n, p.classes, p.relu != 0, w.Vt.data(), p.c};
  std::vector<float> h(size_t(rows) * np), c(size_t(rows) * np), A(size_t(rows) * w.w4), a(n), y(ro.padded8());
  startState(p, checkpoints, 0, b0, rows, np, h.data(), c.data());
  const int K = p.checkpointEvery;
  for (int t = 0; t < p.T; t++) {
    for (int r = 0; r < rows; r++) project(p, w, size_t(t) * p.B + b0 + r, &A[size_t(r) * w.w4]);
    const bool hasPrev = t > 0 || p.h0;
    step(p, w, h.data(), hasPrev, c.data(), A.data(), h.data(), c.data(), nullptr, rows);
    if (checkpoints && K > 0 && (t + 1) % K == 0)
      for (int r = 0; r < rows; r++) {
        float* s = checkpoints + (size_t((t + 1) / K - 1) * p.B + b0 + r) * 2 * n;
        std::memcpy(s, &h[size_t(r) * np], sizeof(float) * n);
        std::memcpy(s + n, &c[size_t(r) * np], sizeof(float) * n);
      }
    if (p.readsOut(t))
      for (int g = g0; g < g1; g++)
        for (int b = groups.rowBegin(g); b < groups.rowBegin(g + 1); b++)
          loss[g] += readoutRow(ro, &h[size_t(b - b0) * np], a.data(), y.data(), p.target(t, b), nullptr, 0.f);
  }
}

// Offsets of the gradient sums in a group's block: dWh [n, 4np], dWx [k, 4np], db [4np], dVᵀ [classes, n], dc [classes].
struct Layout {
  size_t dWh, dWx, db, dVt, dc, len;
};

inline Layout layoutOf(const LstmLoss& p, int w4) {
  Layout l{};
  l.dWh = 0;
  l.dWx = l.dWh + size_t(p.n) * w4;
  l.db = l.dWx + size_t(p.k) * w4;
  l.dVt = l.db + w4;
  l.dc = l.dVt + size_t(p.classes) * p.n;
  l.len = l.dc + p.classes;
  return l;
}

void backwardRows(const LstmLoss& p, const Padded& w, const float* checkpoints, float scale, GroupSums& sums, int g0, int g1, float* dh0, float* dc0) {
  const int n = p.n, np = w.np, w4 = w.w4, b0 = sums.rowBegin(g0), rows = sums.rowBegin(g1) - b0;
  const int K = p.segment(), segments = (p.T + K - 1) / K;
  const Layout L = layoutOf(p, w4);
  const ReadoutLoss ro{n, p.classes, p.relu != 0, w.Vt.data(), p.c};
  const size_t rs = size_t(rows) * np;
  // Per segment: the entering state (h, c), then per step h, c [rows, np] and i, f, g, o [rows, 4np]
  // (overwritten by da in the backward).
  std::vector<float> h0s(rs), c0s(rs), Hs(size_t(K) * rs), Cs(size_t(K) * rs), S(size_t(K) * rows * w4);
  const int nc8 = ro.padded8();
  std::vector<float> ch(rs, 0.f), cc(rs, 0.f), d(2 * size_t(np), 0.f), a(2 * size_t(n)), y(nc8), gq(2 * size_t(nc8));
  float* const as[2] = {a.data(), a.data() + n};
  float* const gs[2] = {gq.data(), gq.data() + nc8};
  float* const ds[2] = {d.data(), d.data() + np};
  for (int j = segments - 1; j >= 0; j--) {
    const int t0 = j * K, t1 = std::min(p.T, t0 + K);
    startState(p, checkpoints, j, b0, rows, np, h0s.data(), c0s.data());
    auto H = [&](int t) { return t < t0 ? h0s.data() : &Hs[size_t(t - t0) * rs]; };
    auto C = [&](int t) { return t < t0 ? c0s.data() : &Cs[size_t(t - t0) * rs]; };
    for (int t = t0; t < t1; t++) {
      float* A = &S[size_t(t - t0) * rows * w4];
      for (int r = 0; r < rows; r++) project(p, w, size_t(t) * p.B + b0 + r, A + size_t(r) * w4);
      step(p, w, H(t - 1), t > 0 || p.h0, C(t - 1), A, H(t), C(t), A, rows);
    }
    // dWh = Σ h_{t−1}ᵀ da is summed over the steps since the last flush at once (row pointers).
    std::vector<const float*> Dp, Xp;
    int pending = t1 - 1;  // the steps (t, pending] have da but are not in dWh yet
    for (int t = t1 - 1; t >= t0; t--) {
      float* St = &S[size_t(t - t0) * rows * w4];
      for (int g = g0; g < g1; g++) {
        float* acc = sums.acc(g);
        const int end = sums.rowBegin(g + 1);
        for (int b = sums.rowBegin(g); b < end;) {
          // dh of two rows at a time (readoutBackwardRows: each element of dVᵀ loaded and stored
          // once for both), then each row's cell backward in row order.
          const int R = b + 1 < end ? 2 : 1;
          if (p.readsOut(t)) {
            const float* const hr2[2] = {H(t) + size_t(b - b0) * np, H(t) + size_t(b + R - 1 - b0) * np};
            const float* const ch2[2] = {&ch[size_t(b - b0) * np], &ch[size_t(b + R - 1 - b0) * np]};
            const int targets[2] = {p.target(t, b), p.target(t, b + R - 1)};
            if (R == 2) readoutBackwardRows<2>(ro, hr2, as, y.data(), gs, ch2, ds, acc + L.dVt, acc + L.dc, targets, scale);
            else readoutBackwardRows<1>(ro, hr2, as, y.data(), gs, ch2, ds, acc + L.dVt, acc + L.dc, targets, scale);
          } else {
            for (int e = 0; e < R; e++) std::memcpy(ds[e], &ch[size_t(b + e - b0) * np], sizeof(float) * n);
          }
          for (int e = 0; e < R; e++, b++) {
            const int r = b - b0;
            const float* cr = C(t) + size_t(r) * np;
            const float* cp = C(t - 1) + size_t(r) * np;
            float* da = St + size_t(r) * w4;  // i, f, g, o in, da out
            float* ccr = &cc[size_t(r) * np];
            const float* dr = ds[e];
            for (int i = 0; i < np; i += 8) {
              const v8 ig = ld(da + i), fg = ld(da + np + i), gg = ld(da + 2 * np + i), og = ld(da + 3 * np + i);
              const v8 tc = tanh8(ld(cr + i));
              const v8 dh = ld(dr + i);
              const v8 dc = ld(ccr + i) + dh * og * (splat(1.f) - tc * tc);
              st(da + i, dc * gg * ig * (splat(1.f) - ig));
              st(da + np + i, dc * ld(cp + i) * fg * (splat(1.f) - fg));
              st(da + 2 * np + i, dc * ig * (splat(1.f) - gg * gg));
              st(da + 3 * np + i, dh * tc * og * (splat(1.f) - og));
              st(ccr + i, dc * fg);
            }
            // dWx += x_tᵀ da, db += da.
            const size_t row = size_t(t) * p.B + b;
            float* db = acc + L.db;
            for (int i = 0; i < w4; i += 8) st(db + i, ld(db + i) + ld(da + i));
            if (p.xi) {
              float* du = acc + L.dWx + size_t(p.xi[row]) * w4;
              for (int i = 0; i < w4; i += 8) st(du + i, ld(du + i) + ld(da + i));
            } else {
              const float* xr = p.x + row * p.k;
              for (int jj = 0; jj < p.k; jj++)
                if (xr[jj] != 0.f) {
                  const v8 s = splat(xr[jj]);
                  float* du = acc + L.dWx + size_t(jj) * w4;
                  for (int i = 0; i < w4; i += 8) st(du + i, ld(du + i) + s * ld(da + i));
                }
            }
          }
        }
      }
      // Flush at fixed steps (SUM_FLUSH from the end, and each segment's first step): first dWh
      // over the pending steps [t, pending], group by group.
      if ((p.T - t) % SUM_FLUSH == 0 || t == t0) {
        for (int g = g0; g < g1; g++) {
          const int r0 = sums.rowBegin(g) - b0, r1 = sums.rowBegin(g + 1) - b0;
          Dp.clear();
          Xp.clear();
          for (int s = pending; s >= t; s--) {
            if (s == 0 && !p.h0) continue;  // h_{−1} = 0
            for (int r = r0; r < r1; r++) {
              Dp.push_back(H(s - 1) + size_t(r) * np);
              Xp.push_back(&S[(size_t(s - t0) * rows + r) * w4]);
            }
          }
          accumulateOuterRows(Dp.data(), n, Xp.data(), w4, int(Dp.size()), sums.acc(g) + L.dWh, w4);
          sums.flush(g);
        }
        pending = t - 1;
      }
      // carry_h = da Whᵀ.
      float* chp = ch.data();
      auto store = [&](int r, int col, v8 a0, v8 a1) {
        st(chp + size_t(r) * np + col, a0);
        st(chp + size_t(r) * np + col + 8, a1);
      };
      rowsTimesM(St, rows, w4, w4, w.Mb.data(), np, np, store);
    }
  }
  for (int r = 0; r < rows; r++) {
    if (dh0) std::memcpy(dh0 + size_t(b0 + r) * n, &ch[size_t(r) * np], sizeof(float) * n);
    if (dc0) std::memcpy(dc0 + size_t(b0 + r) * n, &cc[size_t(r) * np], sizeof(float) * n);
  }
}

int lossThreads(int requested, const LstmLoss& p) {
  const double work = double(p.T) * p.B * p.n * (4.0 * p.n + p.classes);
  return work < 2e6 ? 1 : std::max(1, requested);
}

void parse(const Args& a, LstmLoss& p, int& threads) {
  readLossSizes(a, p);
  const int flags = readLossFlags(a, 3, p);
  p.checkpointEvery = a.i32(6, "checkpointEvery");
  threads = a.i32(7, "threads");
  checkLossSizes(p);
  if (p.checkpointEvery < 0) throw ArgError{"checkpointEvery must be >= 0"};
  readLossInputs(a, 8, flags, "x (row indices into Wx)", p);
  p.Wx = a.f32(9, size_t(p.k) * 4 * p.n, "Wx");
  p.b = a.f32(10, size_t(4) * p.n, "b");
  p.Wh = a.f32(11, size_t(p.n) * 4 * p.n, "Wh");
  p.h0 = a.f32OrNull(12, size_t(p.B) * p.n, "h0");
  p.c0 = a.f32OrNull(13, size_t(p.B) * p.n, "c0");
  readLossReadout(a, 14, p);
}

}  // namespace

// lstmLossForward(T, B, n, k, classes, flags, checkpointEvery, threads, x, Wx, b, Wh, h0|null, c0|null, V, c, targets, checkpoints|null) → mean loss
napi_value LstmLossForward(const Args& a) {
  LstmLoss p{};
  int threads = 1;
  parse(a, p, threads);
  float* checkpoints = a.f32OrNull(17, p.checkpointLen(), "checkpoints", p.checkpointLen() == 0);
  const Padded w(p);
  GroupSums groups(p.B, 0);
  std::vector<double> loss(groups.groups, 0.0);
  parallelGroups(lossThreads(threads, p), groups, [&](int, int g0, int g1) { forwardRows(p, w, groups, g0, g1, loss.data(), checkpoints); });
  return a.number(p.mean(loss));
}

// lstmLossBackward(T, B, n, k, classes, flags, checkpointEvery, threads, x, Wx, b, Wh, h0|null, c0|null, V, c, targets, checkpoints|null,
//                  dy, dWx, db, dWh, dh0|null, dc0|null, dV, dc)
napi_value LstmLossBackward(const Args& a) {
  LstmLoss p{};
  int threads = 1;
  parse(a, p, threads);
  const float* checkpoints = a.f32OrNull(17, p.checkpointLen(), "checkpoints", p.checkpointLen() == 0);
  const double dy = a.f64(18, "dy");
  const int n = p.n;
  float* dWx = a.f32(19, size_t(p.k) * 4 * n, "dWx");
  float* db = a.f32(20, size_t(4) * n, "db");
  float* dWh = a.f32(21, size_t(n) * 4 * n, "dWh");
  float* dh0 = a.f32OrNull(22, size_t(p.B) * n, "dh0");
  float* dc0 = a.f32OrNull(23, size_t(p.B) * n, "dc0");
  float* dV = a.f32(24, size_t(n) * p.classes, "dV");
  float* dc = a.f32(25, p.classes, "dc");
  const Padded w(p);
  const Layout L = layoutOf(p, w.w4);
  GroupSums sums(p.B, L.len);
  const float scale = float(dy / p.rowsReadOut());
  parallelGroups(lossThreads(threads, p), sums, [&](int, int g0, int g1) { backwardRows(p, w, checkpoints, scale, sums, g0, g1, dh0, dc0); });
  for (int q = 0; q < 4; q++)
    for (int u = 0; u < n; u++) {
      const size_t col = size_t(q) * w.np + u, out = size_t(q) * n + u;
      for (int j = 0; j < n; j++) dWh[size_t(j) * 4 * n + out] = float(sums.total(L.dWh + size_t(j) * w.w4 + col));
      for (int j = 0; j < p.k; j++) dWx[size_t(j) * 4 * n + out] = float(sums.total(L.dWx + size_t(j) * w.w4 + col));
      db[out] = float(sums.total(L.db + col));
    }
  for (int i = 0; i < n; i++)
    for (int q = 0; q < p.classes; q++) dV[size_t(i) * p.classes + q] = float(sums.total(L.dVt + size_t(q) * n + i));
  for (int q = 0; q < p.classes; q++) dc[q] = float(sums.total(L.dc + q));
  return nullptr;
}

}  // namespace oq
