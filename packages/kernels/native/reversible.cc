// Reversible BPTT for exactly orthogonal linear recurrences (same math as src/scan-reversible.ts).
//
// Forward (the ordinary linear scan): h_t = h_{t-1} Q + z_t with Q orthogonal: Q = Wᵀ (dense,
// row-vector batch) or Q = (I ⊗ H_m)/√m · diag(s) with s = ±1 (hadamard). Because Q⁻¹ = Qᵀ, the
// backward pass rebuilds every state from the last one instead of reading T stored states:
//   u_t = h_t − z_t = h_{t-1} Q
//   hadamard: h_{t-1} = ((s ⊙ u_t)·(I ⊗ H_m))/√m,  ds += δ_t ⊙ s ⊙ u_t   (= δ_t ⊙ rec0(h_{t-1})/√m)
//   dense:    h_{t-1} = u_t W,                     dW += δ_tᵀ h_{t-1}
//   both:     δ_t = dL/dh_t + carry_t = dz_t,  carry_{t-1} = δ_t Qᵀ (as in scan.cc)
// Orthogonal maps do not amplify rounding errors: the rebuilt states drift like a random walk of
// rounding errors. Optionally the states at t = k−1, 2k−1, … ("anchors") replace the rebuilt
// ones when the pass reaches them. The state and the carry come in and go out (h, carry), so a
// long sequence can be processed in consecutive time chunks.
// Gradient sums use GroupSums (common.h): the result does not depend on the thread count.
#include "common.h"
#include "kron.h"

namespace oq {
namespace {

struct Reversible {
  int kind, T, B, n, m, anchorEvery;
  const float* z;        // [T, B, n]
  const float* w;        // W [n, n] or s [n] (±1)
  const float* h0;       // [B, n] or null (read when atStart)
  int atStart;           // 1: local t = 0 is the start of the sequence (h_{-1} = h0 or zero)
  float* h;              // [B, n] in: h_{T-1}; out: the rebuilt h_{-1} (when !atStart)
  float* carry;          // [B, n] in: dL/dh_{T-1} from later steps; out: dL/dh_{-1}
  const float* anchors;  // [⌊T/k⌋, B, n]: h_{k-1}, h_{2k-1}, … or null
  const float* dH;       // [T, B, n]
  float* dz;             // [T, B, n]
  const KronStage* kron; // hadamard: the p-stage of m = p·2^k (Q⁻¹ uses H_pᵀ), or null
};

// The anchor that replaces the rebuilt h_{t} (t ≥ 0), or null.
inline const float* anchorFor(const Reversible& p, int t, int b) {
  if (!p.anchors || p.anchorEvery <= 0 || (t + 1) % p.anchorEvery != 0) return nullptr;
  return p.anchors + (size_t((t + 1) / p.anchorEvery - 1) * p.B + b) * p.n;
}

// Sums: ds at [0, n).
void hadamardReversible(const Reversible& p, GroupSums& sums, int g0, int g1) {
  const int n = p.n, b0 = sums.rowBegin(g0);
  const size_t stride = size_t(p.B) * n;
  const float scale = 1.f / std::sqrt(float(p.m));
  std::vector<float> d(n), u(n);
  const bool chunked = !(p.kron && p.kron->p > 1) && n % 8 == 0;  // else rec_row and passes
  const int nv = chunkVectors(p.m, 8);
  float* carry = p.carry + size_t(b0) * n;
  float* h = p.h + size_t(b0) * n;
  const float* s = p.w;
  for (int t = p.T - 1; t >= 0; t--) {
    for (int g = g0; g < g1; g++) {
      float* ds = sums.acc(g);
      for (int b = sums.rowBegin(g); b < sums.rowBegin(g + 1); b++) {
        float* c = carry + size_t(b - b0) * n;
        float* hb = h + size_t(b - b0) * n;
        const size_t o = t * stride + size_t(b) * n;
        const float* zt = p.z + o;
        const float* dh = p.dH + o;
        float* dz = p.dz + o;
        const bool hasPrev = t > 0 || !p.atStart || p.h0;
        const bool rebuild = t > 0 || !p.atStart;
        const float* a = t > 0 ? anchorFor(p, t - 1, b) : nullptr;
        if (chunked) {
          // On register chunks (wht.h's whtRowWith), the elementwise work in the loads and
          // stores: δ, dz, s ⊙ u_t and ds in h_{t−1}'s load, δ ⊙ s in the carry's.
          auto rebuildIn = [&](int j) {
            const v8 dj = ld(dh + j) + ld(c + j);
            st(d.data() + j, dj);
            st(dz + j, dj);
            const v8 uj = ld(s + j) * (ld(hb + j) - ld(zt + j));
            if (hasPrev) st(ds + j, ld(ds + j) + dj * uj);
            return uj;
          };
          auto carryIn = [&](int j) { return ld(d.data() + j) * ld(s + j); };
          auto scaled = [&](v8 v, int) { return v * splat(scale); };
          byChunk(nv, [&](auto k) {
            constexpr int NV = decltype(k)::value;
            if (rebuild && !a) {
              whtRowWith<NV>(hb, n, p.m, rebuildIn, scaled);
            } else {
              for (int j = 0; j < n; j += 8) rebuildIn(j);
              if (a) std::memcpy(hb, a, sizeof(float) * n);
            }
            whtRowWith<NV>(c, n, p.m, carryIn, scaled);
          });
          continue;
        }
        for (int i = 0; i < n; i++) {
          const float di = dh[i] + c[i];
          d[i] = di;
          dz[i] = di;
          u[i] = s[i] * (hb[i] - zt[i]);  // s ⊙ u_t = rec0(h_{t-1})/√m
        }
        if (hasPrev)
          for (int i = 0; i < n; i++) ds[i] += d[i] * u[i];
        for (int i = 0; i < n; i++) c[i] = d[i] * s[i];
        rec_row(p.kron, c, n, p.m, true);
        for (int i = 0; i < n; i++) c[i] *= scale;
        if (rebuild) {
          if (a) {
            std::memcpy(hb, a, sizeof(float) * n);
          } else {
            std::memcpy(hb, u.data(), sizeof(float) * n);
            rec_row(p.kron, hb, n, p.m, true);
            for (int i = 0; i < n; i++) hb[i] *= scale;
          }
        }
      }
      if ((p.T - t) % SUM_FLUSH == 0 || t == 0) sums.flush(g);
    }
  }
}

// Sums: dW padded [np, np]. One product per step serves both the carry (δ W) and the rebuilt
// state (u W): the rows [δ; u] times W.
void denseReversible(const Reversible& p, const float* Mb, GroupSums& sums, int g0, int g1) {
  const int n = p.n, np = padded(n), b0 = sums.rowBegin(g0), b1 = sums.rowBegin(g1), rows = b1 - b0;
  const size_t stride = size_t(p.B) * n;
  // DU: rows [0, rows) hold δ, rows [rows, 2·rows) hold u; CH receives [carry; h_{t-1}].
  std::vector<float> DU(size_t(2) * rows * np, 0.f), CH(size_t(2) * rows * np, 0.f);
  float* D = DU.data();
  float* U = D + size_t(rows) * np;
  float* C = CH.data();
  float* Hs = C + size_t(rows) * np;  // the current state h_t of each row (padded lanes zero)
  for (int r = 0; r < rows; r++) {
    std::memcpy(Hs + size_t(r) * np, p.h + size_t(b0 + r) * n, sizeof(float) * n);
    std::memcpy(C + size_t(r) * np, p.carry + size_t(b0 + r) * n, sizeof(float) * n);
  }
  for (int t = p.T - 1; t >= 0; t--) {
    const size_t base = t * stride + size_t(b0) * n;
    for (int r = 0; r < rows; r++) {
      const size_t o = base + size_t(r) * n;
      float* d = D + size_t(r) * np;
      float* ur = U + size_t(r) * np;
      const float* c = C + size_t(r) * np;
      const float* hr = Hs + size_t(r) * np;
      for (int i = 0; i < n; i++) {
        d[i] = p.dH[o + i] + c[i];
        ur[i] = hr[i] - p.z[o + i];
      }
      std::memcpy(p.dz + o, d, sizeof(float) * n);
    }
    // [carry; h_{t-1}] = [δ; u] W  (h_{t-1} only needed for t > 0; at t = 0 it is h0 or zero).
    auto store = [&](int r, int col, v8 a0, v8 a1) {
      st(C + size_t(r) * np + col, a0);
      st(C + size_t(r) * np + col + 8, a1);
    };
    const bool rebuild = t > 0 || !p.atStart;
    rowsTimesM(DU.data(), rebuild ? 2 * rows : rows, np, n, Mb, np, np, store);
    for (int r = 0; r < rows; r++) {  // keep padded lanes of the states at zero
      float* hr = Hs + size_t(r) * np;
      for (int i = n; i < np; i++) hr[i] = 0.f;
    }
    const float* prev = nullptr;  // h_{t-1} rows with stride np
    if (rebuild) {
      for (int r = 0; r < rows && t > 0; r++) {
        const float* a = anchorFor(p, t - 1, b0 + r);
        if (a) std::memcpy(Hs + size_t(r) * np, a, sizeof(float) * n);
      }
      prev = Hs;
    } else if (p.h0) {
      for (int r = 0; r < rows; r++) std::memcpy(Hs + size_t(r) * np, p.h0 + size_t(b0 + r) * n, sizeof(float) * n);
      prev = Hs;
    }
    if (prev)
      for (int g = g0; g < g1; g++) {
        const int r0 = sums.rowBegin(g) - b0, r1 = sums.rowBegin(g + 1) - b0;
        accumulateOuter(D + size_t(r0) * np, np, n, prev + size_t(r0) * np, np, np, r1 - r0, sums.acc(g), np);
      }
    if ((p.T - t) % SUM_FLUSH == 0 || t == 0)
      for (int g = g0; g < g1; g++) sums.flush(g);
  }
  for (int r = 0; r < rows; r++) {
    std::memcpy(p.carry + size_t(b0 + r) * n, C + size_t(r) * np, sizeof(float) * n);
    if (!p.atStart) std::memcpy(p.h + size_t(b0 + r) * n, Hs + size_t(r) * np, sizeof(float) * n);
  }
}

int reversibleThreads(int requested, const Reversible& p) {
  const double work = double(p.T) * p.B * p.n * (p.kind == DENSE ? p.n : 8);
  return work < 2e6 ? 1 : std::max(1, std::min(requested, p.B));
}

void runReversible(const Reversible& p, int threads, float* dw) {
  threads = reversibleThreads(threads, p);
  const int n = p.n;
  if (p.kind == HADAMARD) {
    GroupSums sums(p.B, size_t(n));
    parallelGroups(threads, sums, [&](int, int g0, int g1) { hadamardReversible(p, sums, g0, g1); });
    for (int i = 0; i < n; i++) dw[i] = float(sums.total(i));
  } else {
    const int np = padded(n);
    GroupSums sums(p.B, size_t(np) * np);
    const std::vector<float> Mb = padMatrix(p.w, n, np, false);
    parallelGroups(threads, sums, [&](int, int g0, int g1) { denseReversible(p, Mb.data(), sums, g0, g1); });
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) dw[size_t(i) * n + j] = float(sums.total(size_t(i) * np + j));
  }
}

}  // namespace

// reversibleBackward(kind, T, B, n, m, threads, z, w, h0|null, atStart, h, carry, anchorEvery, anchors|null, dH, dz, dw, p, hp|null)
// h and carry are read and overwritten (see Reversible); dw receives this call's dW or ds.
napi_value ReversibleBackward(const Args& a) {
  Reversible p{};
  p.kind = a.i32(0, "kind");
  p.T = a.i32(1, "T");
  p.B = a.i32(2, "B");
  p.n = a.i32(3, "n");
  p.m = a.i32(4, "blockSize");
  const int threads = a.i32(5, "threads");
  if (p.kind != DENSE && p.kind != HADAMARD) throw ArgError{"kind must be 0 (dense) or 1 (hadamard)"};
  if (p.T < 1 || p.B < 1 || p.n < 1) throw ArgError{"T, B and n must be positive"};
  const KronStage kron = p.kind == HADAMARD ? parseKron(a.env, a[17], a[18], p.n, p.m) : KronStage{};
  p.kron = &kron;
  const size_t size = size_t(p.T) * p.B * p.n, row = size_t(p.B) * p.n;
  const size_t wlen = p.kind == DENSE ? size_t(p.n) * p.n : size_t(p.n);
  p.z = a.f32(6, size, "z");
  p.w = a.f32(7, wlen, p.kind == DENSE ? "W" : "s");
  p.h0 = a.f32OrNull(8, row, "h0");
  p.atStart = a.flag(9, "atStart");
  p.h = a.f32(10, row, "h");
  p.carry = a.f32(11, row, "carry");
  p.anchorEvery = a.i32(12, "anchorEvery");
  if (p.anchorEvery < 0) throw ArgError{"anchorEvery must be >= 0"};
  const size_t nAnchors = p.anchorEvery > 0 ? size_t(p.T / p.anchorEvery) : 0;
  p.anchors = a.f32OrNull(13, nAnchors * row, "anchors");
  if (nAnchors > 0 && !p.anchors) throw ArgError{"anchorEvery > 0 needs the anchors"};
  p.dH = a.f32(14, size, "dH");
  p.dz = a.f32(15, size, "dz");
  float* dw = a.f32(16, wlen, "dw");
  runReversible(p, threads, dw);
  return nullptr;
}

}  // namespace oq
