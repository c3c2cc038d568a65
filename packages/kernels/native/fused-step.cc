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
#include "kron.h"
#include "readout-loss.h"

namespace oq {
namespace {

// Bits of the `flags` argument; bits 4–5 hold the dense recurrence's activation (ACT_*).
constexpr int FLAG_RELU = 1, FLAG_LAST = 2, FLAG_INDEX = 4, FLAG_DENSE = 8, ACT_SHIFT = 4;
constexpr int ACT_LINEAR = 0, ACT_RELU = 1, ACT_TANH = 2;

struct FusedStep {
  int T, B, n, m, k, classes, relu, lastOnly, anchorEvery, dense, act;
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

inline const float* anchorAt(const FusedStep& p, const float* anchors, int t, int b) {
  if (!anchors || p.anchorEvery <= 0 || (t + 1) % p.anchorEvery != 0) return nullptr;
  return anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * p.n;
}

std::vector<float> transposeV(const FusedStep& p) { return transposeReadout(p.V, p.n, p.classes); }

inline ReadoutLoss readoutOf(const FusedStep& p, const float* Vt) { return ReadoutLoss{p.n, p.classes, p.relu != 0, Vt, p.c}; }

// Sums: the loss of each group's rows (double, one slot per group).
void forwardRows(const FusedStep& p, const float* Vt, const GroupSums& groups, int g0, int g1, double* loss, float* hLast, float* anchors) {
  const int n = p.n, b0 = groups.rowBegin(g0), b1 = groups.rowBegin(g1);
  const float scale = 1.f / std::sqrt(float(p.m));
  std::vector<float> h(size_t(b1 - b0) * n), z(n), buf(n), a(n), y((p.classes + 7) / 8 * 8);
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
        project(p, row, z.data());
        if (t > 0 || p.h0) {
          std::memcpy(buf.data(), hb, sizeof(float) * n);
          rec_row(p.kron, buf.data(), n, p.m, false);
          for (int i = 0; i < n; i++) hb[i] = p.s[i] * buf[i] * scale + z[i];
        } else {
          std::memcpy(hb, z.data(), sizeof(float) * n);
        }
        if (anchors && p.anchorEvery > 0 && (t + 1) % p.anchorEvery == 0)
          std::memcpy(anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * n, hb, sizeof(float) * n);
        if (p.readsOut(t)) loss[g] += readoutRow(readoutOf(p, Vt), hb, a.data(), y.data(), p.target(t, b), nullptr, 0.f);
      }
  for (int b = b0; b < b1; b++) std::memcpy(hLast + size_t(b) * n, &h[size_t(b - b0) * n], sizeof(float) * n);
}

struct Layout {
  size_t ds, dU, db, dVt, dc, len;
};

inline Layout layoutOf(const FusedStep& p) {
  Layout l{};
  l.ds = 0;
  l.dU = l.ds + (p.dense ? size_t(p.n) * p.n : size_t(p.n));
  l.db = l.dU + size_t(p.k) * p.n;
  l.dVt = l.db + p.n;
  l.dc = l.dVt + size_t(p.classes) * p.n;
  l.len = l.dc + p.classes;
  return l;
}

// δ of one row before the recurrence's σ': (g Vᵀ) ⊙ f'(h) + carry where step t reads out (also
// dVᵀ += g ⊗ f(h), dc += g), else the carry alone.
inline void readoutBackward(const FusedStep& p, const Layout& L, const float* Vt, const float* h, float* a, float* y, float* gq, const float* c, float* d, float* acc, int t, int b, float scale) {
  if (!p.readsOut(t)) {
    std::memcpy(d, c, sizeof(float) * p.n);
    return;
  }
  readoutBackward(readoutOf(p, Vt), h, a, y, gq, c, d, acc + L.dVt, acc + L.dc, p.target(t, b), scale);
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
// first and, for a row group at a time, recomputes the segment's states from the checkpoint
// before it (k·rows·n floats of scratch), then runs BPTT through them: δ = dh ⊙ σ'(h), dW += δ ⊗ h_{t−1},
// carry = Wᵀ δ. σ' is read off h = σ(a) (ReLU: h > 0, tanh: 1 − h²).

// Rows are taken four at a time so that each row of W (or Wᵀ) is loaded once for four rows (the
// dense scan does the same): out_r = M v_r for r < 4, M [n, n] row-major. Each output is summed
// as `dot` sums (8 lanes, then the lanes in order, then the tail): the result of a row does not
// depend on the rows it was blocked with.
inline void matvec4(const float* M, int n, const float* const* v, float* const* out) {
  for (int i = 0; i < n; i++) {
    const float* mi = M + size_t(i) * n;
    v8 a0 = splat(0.f), a1 = a0, a2 = a0, a3 = a0;
    int j = 0;
    for (; j + 8 <= n; j += 8) {
      const v8 w = ld(mi + j);
      a0 += w * ld(v[0] + j);
      a1 += w * ld(v[1] + j);
      a2 += w * ld(v[2] + j);
      a3 += w * ld(v[3] + j);
    }
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
    for (int l = 0; l < 8; l++) {
      s0 += a0[l];
      s1 += a1[l];
      s2 += a2[l];
      s3 += a3[l];
    }
    for (; j < n; j++) {
      s0 += mi[j] * v[0][j];
      s1 += mi[j] * v[1][j];
      s2 += mi[j] * v[2][j];
      s3 += mi[j] * v[3][j];
    }
    out[0][i] = s0;
    out[1][i] = s1;
    out[2][i] = s2;
    out[3][i] = s3;
  }
}

inline float activateDense(int act, float a) { return act == ACT_RELU ? (a > 0.f ? a : 0.f) : act == ACT_TANH ? std::tanh(a) : a; }

// One step for the rows r0 ≤ r < r1 of a block: out[r] = σ(W prev[r] + z[r]) (prev[r] null: σ(z[r])).
// z holds the rows' projections [rows, n] and is overwritten with W prev.
void denseSteps(const FusedStep& p, const float* const* prev, float* z, float* const* out, int rows, float* scratch, const float* zeros) {
  const int n = p.n;
  for (int r0 = 0; r0 < rows; r0 += 4) {
    const float* v[4];
    float* o[4];
    for (int q = 0; q < 4; q++) {
      const int r = r0 + q < rows ? r0 + q : r0;
      v[q] = prev[r] ? prev[r] : zeros;
      o[q] = r0 + q < rows ? scratch + size_t(q) * n : scratch + size_t(4) * n;
    }
    matvec4(p.s, n, v, o);
    for (int q = 0; q < 4 && r0 + q < rows; q++) {
      const int r = r0 + q;
      const float* zr = z + size_t(r) * n;
      for (int i = 0; i < n; i++) out[r][i] = activateDense(p.act, prev[r] ? zr[i] + o[q][i] : zr[i]);
    }
  }
}

void forwardDenseRows(const FusedStep& p, const float* Vt, const GroupSums& groups, int g0, int g1, double* loss, float* hLast, float* anchors) {
  const int n = p.n, b0 = groups.rowBegin(g0), b1 = groups.rowBegin(g1);
  int maxRows = 0;
  for (int g = g0; g < g1; g++) maxRows = std::max(maxRows, groups.rowBegin(g + 1) - groups.rowBegin(g));
  std::vector<float> h(size_t(b1 - b0) * n), hn(size_t(maxRows) * n), z(size_t(maxRows) * n), scratch(size_t(5) * n), zeros(n, 0.f), a(n), y((p.classes + 7) / 8 * 8);
  std::vector<const float*> prev(maxRows);
  std::vector<float*> out(maxRows);
  for (int b = b0; b < b1; b++) {
    float* hb = &h[size_t(b - b0) * n];
    if (p.h0) std::memcpy(hb, p.h0 + size_t(b) * n, sizeof(float) * n);
    else std::fill(hb, hb + n, 0.f);
  }
  for (int t = 0; t < p.T; t++)
    for (int g = g0; g < g1; g++) {
      const int gb0 = groups.rowBegin(g), rows = groups.rowBegin(g + 1) - gb0;
      for (int r = 0; r < rows; r++) {
        project(p, size_t(t) * p.B + gb0 + r, &z[size_t(r) * n]);
        prev[r] = t > 0 || p.h0 ? &h[size_t(gb0 + r - b0) * n] : nullptr;
        out[r] = &hn[size_t(r) * n];
      }
      denseSteps(p, prev.data(), z.data(), out.data(), rows, scratch.data(), zeros.data());
      for (int r = 0; r < rows; r++) {
        const int b = gb0 + r;
        float* hb = &h[size_t(b - b0) * n];
        std::memcpy(hb, out[r], sizeof(float) * n);
        if (anchors && p.anchorEvery > 0 && (t + 1) % p.anchorEvery == 0)
          std::memcpy(anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * n, hb, sizeof(float) * n);
        if (p.readsOut(t)) loss[g] += readoutRow(readoutOf(p, Vt), hb, a.data(), y.data(), p.target(t, b), nullptr, 0.f);
      }
    }
  for (int b = b0; b < b1; b++) std::memcpy(hLast + size_t(b) * n, &h[size_t(b - b0) * n], sizeof(float) * n);
}

void backwardDenseRows(const FusedStep& p, const float* Vt, const float* Wt, const float* anchors, float scale, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1);
  const int K = p.anchorEvery > 0 ? p.anchorEvery : p.T;
  const int segments = (p.T + K - 1) / K;
  const Layout L = layoutOf(p);
  int maxRows = 0;
  for (int g = g0; g < g1; g++) maxRows = std::max(maxRows, sums.rowBegin(g + 1) - sums.rowBegin(g));
  // seg [K, rows, n]: the group's states over one segment; D [rows, n]: the rows' δ at one step.
  std::vector<float> seg(size_t(K) * maxRows * n), carry(size_t(b1 - b0) * n, 0.f), z(size_t(maxRows) * n), D(size_t(maxRows) * n);
  std::vector<float> scratch(size_t(5) * n), zeros(n, 0.f), a(n), y((p.classes + 7) / 8 * 8), gq((p.classes + 7) / 8 * 8);
  std::vector<const float*> prev(maxRows);
  std::vector<float*> out(maxRows);
  for (int j = segments - 1; j >= 0; j--) {
    const int t0 = j * K, t1 = std::min(p.T, t0 + K);
    for (int g = g0; g < g1; g++) {
      float* acc = sums.acc(g);
      const int gb0 = sums.rowBegin(g), rows = sums.rowBegin(g + 1) - gb0;
      // The state entering the segment: h0 (or none) for the first, else the checkpoint h_{t0−1}.
      auto start = [&](int r) -> const float* {
        const int b = gb0 + r;
        return j == 0 ? (p.h0 ? p.h0 + size_t(b) * n : nullptr) : anchors + (size_t(j - 1) * p.B + b) * n;
      };
      auto state = [&](int t, int r) { return &seg[(size_t(t - t0) * rows + r) * n]; };
      for (int t = t0; t < t1; t++) {
        for (int r = 0; r < rows; r++) {
          project(p, size_t(t) * p.B + gb0 + r, &z[size_t(r) * n]);
          prev[r] = t == t0 ? start(r) : state(t - 1, r);
          out[r] = state(t, r);
        }
        denseSteps(p, prev.data(), z.data(), out.data(), rows, scratch.data(), zeros.data());
      }
      for (int t = t1 - 1; t >= t0; t--) {
        for (int r = 0; r < rows; r++) {
          const int b = gb0 + r;
          const float* hb = state(t, r);
          float* d = &D[size_t(r) * n];
          readoutBackward(p, L, Vt, hb, a.data(), y.data(), gq.data(), &carry[size_t(b - b0) * n], d, acc, t, b, scale);
          if (p.act == ACT_RELU) {
            int i = 0;
            for (; i + 8 <= n; i += 8) st(d + i, ld(hb + i) > splat(0.f) ? ld(d + i) : splat(0.f));
            for (; i < n; i++) d[i] = hb[i] > 0.f ? d[i] : 0.f;
          }
          else if (p.act == ACT_TANH)
            for (int i = 0; i < n; i++) d[i] *= 1.f - hb[i] * hb[i];
          inputBackward(p, L, size_t(t) * p.B + b, d, acc);
          prev[r] = t > t0 ? state(t - 1, r) : start(r);
        }
        // dW += Σ_r δ_r ⊗ h_{t−1,r}, four rows per pass over dW; carry_r = Wᵀ δ_r.
        for (int r0 = 0; r0 < rows; r0 += 4) {
          const float* pv[4];
          const float* dv[4];
          float* co[4];
          for (int q = 0; q < 4; q++) {
            const bool real = r0 + q < rows;
            pv[q] = real && prev[r0 + q] ? prev[r0 + q] : zeros.data();
            dv[q] = real ? &D[size_t(r0 + q) * n] : zeros.data();
            co[q] = real ? &carry[size_t(gb0 + r0 + q - b0) * n] : scratch.data();
          }
          for (int i = 0; i < n; i++) {
            const float d0 = dv[0][i], d1 = dv[1][i], d2 = dv[2][i], d3 = dv[3][i];
            float* dw = acc + L.ds + size_t(i) * n;
            for (int q = 0; q < n; q++) dw[q] += d0 * pv[0][q] + d1 * pv[1][q] + d2 * pv[2][q] + d3 * pv[3][q];
          }
          matvec4(Wt, n, dv, co);
        }
      }
      sums.flush(g);
    }
  }
  if (dh0)
    for (int b = b0; b < b1; b++) std::memcpy(dh0 + size_t(b) * n, &carry[size_t(b - b0) * n], sizeof(float) * n);
}

void backwardRows(const FusedStep& p, const float* Vt, const float* hLast, const float* anchors, float scale, GroupSums& sums, int g0, int g1, float* dh0) {
  const int n = p.n, b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1);
  const float hs = 1.f / std::sqrt(float(p.m));
  const Layout L = layoutOf(p);
  std::vector<float> h(size_t(b1 - b0) * n), carry(size_t(b1 - b0) * n, 0.f), z(n), u(n), a(n), y((p.classes + 7) / 8 * 8), gq((p.classes + 7) / 8 * 8), d(n);
  for (int b = b0; b < b1; b++) std::memcpy(&h[size_t(b - b0) * n], hLast + size_t(b) * n, sizeof(float) * n);
  for (int t = p.T - 1; t >= 0; t--) {
    for (int g = g0; g < g1; g++) {
      float* acc = sums.acc(g);
      for (int b = sums.rowBegin(g); b < sums.rowBegin(g + 1); b++) {
        float* hb = &h[size_t(b - b0) * n];
        float* c = &carry[size_t(b - b0) * n];
        const size_t row = size_t(t) * p.B + b;
        readoutBackward(p, L, Vt, hb, a.data(), y.data(), gq.data(), c, d.data(), acc, t, b, scale);
        inputBackward(p, L, row, d.data(), acc);
        // u = s ⊙ (h_t − z_t) = rec0(h_{t−1})/√m; ds += δ ⊙ u.
        project(p, row, z.data());
        for (int i = 0; i < n; i++) u[i] = p.s[i] * (hb[i] - z[i]);
        if (t > 0 || p.h0)
          for (int i = 0; i < n; i++) acc[L.ds + i] += d[i] * u[i];
        for (int i = 0; i < n; i++) c[i] = d[i] * p.s[i];
        rec_row(p.kron, c, n, p.m, true);
        for (int i = 0; i < n; i++) c[i] *= hs;
        if (t > 0) {
          const float* an = anchorAt(p, anchors, t - 1, b);
          if (an) {
            std::memcpy(hb, an, sizeof(float) * n);
          } else {
            std::memcpy(hb, u.data(), sizeof(float) * n);
            rec_row(p.kron, hb, n, p.m, true);
            for (int i = 0; i < n; i++) hb[i] *= hs;
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
  parallelGroups(fusedThreads(threads, p), groups, [&](int, int g0, int g1) {
    if (p.dense) forwardDenseRows(p, Vt.data(), groups, g0, g1, loss.data(), hLast, anchors);
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
  std::vector<float> Wt;
  if (p.dense) {
    Wt.resize(size_t(p.n) * p.n);
    for (int i = 0; i < p.n; i++)
      for (int q = 0; q < p.n; q++) Wt[size_t(q) * p.n + i] = p.s[size_t(i) * p.n + q];
  }
  parallelGroups(fusedThreads(threads, p), sums, [&](int, int g0, int g1) {
    if (p.dense) backwardDenseRows(p, Vt.data(), Wt.data(), anchors, scale, sums, g0, g1, dh0);
    else backwardRows(p, Vt.data(), hLast, anchors, scale, sums, g0, g1, dh0);
  });
  const int n = p.n;
  for (size_t e = 0; e < (p.dense ? size_t(n) * n : size_t(n)); e++) ds[e] = float(sums.total(L.ds + e));
  for (size_t e = 0; e < size_t(p.k) * n; e++) dU[e] = float(sums.total(L.dU + e));
  for (int i = 0; i < n; i++) db[i] = float(sums.total(L.db + i));
  for (int i = 0; i < n; i++)
    for (int q = 0; q < p.classes; q++) dV[size_t(i) * p.classes + q] = float(sums.total(L.dVt + size_t(q) * n + i));
  for (int q = 0; q < p.classes; q++) dc[q] = float(sums.total(L.dc + q));
  return nullptr;
}

}  // namespace oq
