// The fast Walsh–Hadamard transform of one row in independent blocks of m (unnormalised), the one
// place it is written: float (the recurrences and the float inference) and integer (the integer
// engine: adds and subtracts only, on int32 or int16 lanes, register chunks). Orders p·2^k that
// are not powers of two add kron.h's p-stage after it.
#pragma once

#include "simd.h"

#include <type_traits>

namespace oq {

// The butterflies (x[j], x[j + h]) ← (x[j] + x[j + h], x[j] − x[j + h]) of every stride h < m in
// blocks of m, one element at a time (T = float, or uint32_t: wrapping modulo 2^32).
template <class T>
inline void butterflies(T* x, int n, int m) {
  for (int base = 0; base < n; base += m)
    for (int h = 1; h < m; h <<= 1)
      for (int i = base; i < base + m; i += 2 * h)
        for (int j = i; j < i + h; j++) {
          const T a = x[j], b = x[j + h];
          x[j] = a + b;
          x[j + h] = a - b;
        }
}

// The butterflies of the strides from ≤ h < to (to ≤ m), in vectors V of lanes T (the strides
// below the lane count are done inside each vector). Pairs (j, j + h) with h < m stay inside
// their block because blocks start at multiples of m.
template <class V, class T>
inline void butterfliesV(T* x, int n, int from, int to) {
  constexpr int L = sizeof(V) / sizeof(T);
  for (int h = from; h < to; h <<= 1)
    for (int base = 0; base < n; base += 2 * h)
      for (int j = base; j < base + h; j += L) {
        const V a = vload<V>(x + j), b = vload<V>(x + j + h);
        vstore(x + j, a + b);
        vstore(x + j + h, a - b);
      }
}
template <class V, class T>
inline void butterflies8(T* x, int n, int m) { butterfliesV<V>(x, n, 8, m); }

// ---------------------------------------------------------------------------------------------
// Float.

// The 8-point transform inside one vector: three butterfly stages (strides 1, 2, 4).
inline v8 wht8(v8 v) {
  const v8 s1 = {1, -1, 1, -1, 1, -1, 1, -1};
  const v8 s2 = {1, 1, -1, -1, 1, 1, -1, -1};
  const v8 s4 = {1, 1, 1, 1, -1, -1, -1, -1};
  v = SHUF(v, 0, 0, 2, 2, 4, 4, 6, 6) + SHUF(v, 1, 1, 3, 3, 5, 5, 7, 7) * s1;
  v = SHUF(v, 0, 1, 0, 1, 4, 5, 4, 5) + SHUF(v, 2, 3, 2, 3, 6, 7, 6, 7) * s2;
  v = SHUF(v, 0, 1, 2, 3, 0, 1, 2, 3) + SHUF(v, 4, 5, 6, 7, 4, 5, 6, 7) * s4;
  return v;
}

inline void fwht_row(float* x, int n, int m) {
  if (m < 8) {
    butterflies(x, n, m);
    return;
  }
  for (int i = 0; i < n; i += 8) st(x + i, wht8(ld(x + i)));
  butterflies8<v8>(x, n, m);
}

// ---------------------------------------------------------------------------------------------
// Integer: adds and subtracts on 8 int32 or 16 int16 lanes (the integer HadamRNN, integer.cc:
// which width is exact is the caller's proof). The transform of a chunk of up to NV vectors runs
// on registers: butterflies inside each vector by one single-source shuffle and a sign flip per
// stage (lane i gets partner + v_i on lower lanes, partner − v_i on upper ones: swap(v) + v·u),
// then across vectors by adds and subtracts, fully unrolled.

// Scalar, wrapping modulo 2^32 (rows whose n is not a multiple of 8; then m < 8).
inline void iwht_row(int32_t* x, int n, int m) { butterflies(reinterpret_cast<uint32_t*>(x), n, m); }

// The strides 1, 2, 4 (int32) or 1, 2, 4, 8 (int16) below the block size m, inside one vector.
OQ_ALWAYS_INLINE v8i whtLanes(v8i v, int m) {
  if (m >= 2) v = SHUF(v, 1, 0, 3, 2, 5, 4, 7, 6) + flip32(v, (v8i){1, -1, 1, -1, 1, -1, 1, -1});
  if (m >= 4) v = SHUF(v, 2, 3, 0, 1, 6, 7, 4, 5) + flip32(v, (v8i){1, 1, -1, -1, 1, 1, -1, -1});
  if (m >= 8) v = SHUF(v, 4, 5, 6, 7, 0, 1, 2, 3) + flip32(v, (v8i){1, 1, 1, 1, -1, -1, -1, -1});
  return v;
}
OQ_ALWAYS_INLINE v16s whtLanes(v16s v, int m) {
  if (m >= 2) v = SHUF16(v, 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14) + flip16(v, (v16s){1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1});
  if (m >= 4) v = SHUF16(v, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13) + flip16(v, (v16s){1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1});
  if (m >= 8) v = SHUF16(v, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11) + flip16(v, (v16s){1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1});
  if (m >= 16) v = SHUF16(v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7) + flip16(v, (v16s){1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1});
  return v;
}

// Float: the strides 1, 2, 4 below m inside one vector, as wht8 (partner + v·(±1): the same sums
// and differences, so the same bits) — for the float inference's register chunks (integer.cc).
OQ_ALWAYS_INLINE v8 whtLanes(v8 v, int m) {
  if (m >= 2) v = SHUF(v, 1, 0, 3, 2, 5, 4, 7, 6) + v * (v8){1, -1, 1, -1, 1, -1, 1, -1};
  if (m >= 4) v = SHUF(v, 2, 3, 0, 1, 6, 7, 4, 5) + v * (v8){1, 1, -1, -1, 1, 1, -1, -1};
  if (m >= 8) v = SHUF(v, 4, 5, 6, 7, 0, 1, 2, 3) + v * (v8){1, 1, 1, 1, -1, -1, -1, -1};
  return v;
}

// The strides HV, 2·HV, … < NV (in vectors) across the chunk's vectors (float or integer lanes).
template <class V, int NV, int HV>
OQ_ALWAYS_INLINE void whtAcross(V* r) {
  if constexpr (HV < NV) {
#pragma GCC unroll 8
    for (int i = 0; i < NV; i += 2 * HV)
#pragma GCC unroll 8
      for (int j = i; j < i + HV; j++) {
        const V a = r[j], b = r[j + HV];
        r[j] = a + b;
        r[j + HV] = a - b;
      }
    whtAcross<V, NV, 2 * HV>(r);
  }
}

// Every stride of a chunk r[0..NV) (NV·lanes ≤ m when NV > 1) on registers (float or integer).
template <class V, int NV>
OQ_ALWAYS_INLINE void whtChunk(V* r, int m) {
#pragma GCC unroll 8
  for (int i = 0; i < NV; i++) r[i] = whtLanes(r[i], m);
  whtAcross<V, NV, 1>(r);
}

// ---------------------------------------------------------------------------------------------
// Register chunks: up to CHUNK vectors of a row are loaded once and all their butterfly stages
// run on registers (whtChunk); the stages above a chunk are passes over the row. The inference
// engines' step (integer.cc's rowStep, lane policies) and the float training step's (whtRowWith)
// are whtRow below.

constexpr int CHUNK = 8;  // vectors per register chunk (16 registers: a chunk and its temporaries)

// Vectors per chunk: whole blocks when they fit (m/L), else CHUNK; 1 for blocks below a vector.
inline int chunkVectors(int m, int L) { return m <= L ? 1 : std::min(m / L, CHUNK); }

// f(std::integral_constant<int, nv>()) for nv = chunkVectors(…).
template <class F>
inline void byChunk(int nv, F&& f) {
  switch (nv) {
    case 1: f(std::integral_constant<int, 1>()); break;
    case 2: f(std::integral_constant<int, 2>()); break;
    case 4: f(std::integral_constant<int, 4>()); break;
    default: f(std::integral_constant<int, 8>()); break;
  }
}

// The register-chunked row step, the one definition of it: the transform, in blocks of m, of one
// row with its elementwise work fused into the loads and stores — the float training step
// (whtRowWith below, fused-step.cc) and the inference engines' row step over lane policies
// (integer.cc's rowStep: int16, int32 and float lanes). Chunks of NV vectors
// (NV = chunkVectors(m, L)) are loaded once and all their butterfly stages run on registers; the
// tail runs before the single store when a chunk holds whole blocks (one load and one store of the
// row), else the stages in between are passes over `row` and the tail is fused with the last
// stage (stride m/2, tailVectors of each half at a time: hh ≥ 8·L there). The same sums and
// differences as fwht_row / iwht_row, so the same bits. A row policy R says what differs:
//   V, L, splitLast      the vector type and its lanes; splitLast: the last stage is R's own
//   tailVectors          vectors of each half per iteration of the last stage (1, or 2 for
//                        policies that store pairs). The float training step keeps 1: with
//                        -mfma, 2 moved the fused losses' bits (the compiler's contraction)
//   row                  the row (of V's lanes) the passes run on: the row itself, or scratch
//   chunk<NV>(c, r, m)   load the vectors at [c, c + NV·L) (with any work before the transform)
//                        and run every stage of stride below min(m, NV·L) on registers
//   post(v, j)           the tail on the transform's outputs at [j, j + L)
//   store<K>(j, r)       K tail vectors to the row's destination at j
//   last(j, hh)          (splitLast) the last stage and the tail at j and j + hh
// chunk may read the destination at [c, c + NV·L) (in place): a chunk is loaded before anything
// of it is stored.
template <class R, int NV>
OQ_ALWAYS_INLINE void whtRow(const R& rp, int n, int m) {
  using V = typename R::V;
  constexpr int L = R::L;
  V r[NV];
  const bool whole = !R::splitLast && m <= NV * L;
  auto* const row = rp.row;
  for (int c = 0; c < n; c += NV * L) {
    rp.template chunk<NV>(c, r, m);
    if constexpr (!R::splitLast) {
      if (whole) {
#pragma GCC unroll 8
        for (int i = 0; i < NV; i++) r[i] = rp.post(r[i], c + i * L);
        rp.template store<NV>(c, r);
        continue;
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < NV; i++) vstore(row + c + i * L, r[i]);
  }
  if (whole) return;
  butterfliesV<V>(row, n, NV * L, m / 2);
  const int hh = m / 2;  // the last stage, fused with the tail
  constexpr int K = R::tailVectors;
  for (int base = 0; base < n; base += m)
    for (int j = base; j < base + hh; j += R::splitLast ? L : K * L) {
      if constexpr (R::splitLast) {
        rp.last(j, hh);
      } else {
        V a[K], b[K], sum[K], diff[K];
#pragma GCC unroll 2
        for (int k = 0; k < K; k++) a[k] = vload<V>(row + j + k * L), b[k] = vload<V>(row + j + hh + k * L);
#pragma GCC unroll 2
        for (int k = 0; k < K; k++) sum[k] = rp.post(a[k] + b[k], j + k * L);
#pragma GCC unroll 2
        for (int k = 0; k < K; k++) diff[k] = rp.post(a[k] - b[k], j + hh + k * L);
        rp.template store<K>(j, sum);
        rp.template store<K>(j + hh, diff);
      }
    }
}

// The float row policy of whtRowWith: in place on x, pre(j) the row's elements [j, j + 8) as
// loaded, post(v, j) the tail.
template <class Pre, class Post>
struct FloatRowWith {
  using V = v8;
  static constexpr int L = 8;
  static constexpr bool splitLast = false;
  static constexpr int tailVectors = 1;
  float* row;
  Pre& pre;
  Post& post_;
  template <int NV>
  OQ_ALWAYS_INLINE void chunk(int c, v8* r, int m) const {
#pragma GCC unroll 8
    for (int i = 0; i < NV; i++) r[i] = pre(c + i * L);
    whtChunk<v8, NV>(r, m);
  }
  OQ_ALWAYS_INLINE v8 post(v8 v, int j) const { return post_(v, j); }
  template <int K>
  OQ_ALWAYS_INLINE void store(int j, const v8* r) const {
#pragma GCC unroll 8
    for (int i = 0; i < K; i++) st(row + j + i * L, r[i]);
  }
};

// x[j, j + 8) ← post(v, j) for v the unnormalised transform, in blocks of m, of the row whose
// elements [j, j + 8) are pre(j) (n % 8 == 0; NV = chunkVectors(m, 8)), by whtRow. pre may read
// x at [j, j + 8) (in place).
template <int NV, class Pre, class Post>
OQ_ALWAYS_INLINE void whtRowWith(float* x, int n, int m, Pre&& pre, Post&& post) {
  whtRow<FloatRowWith<Pre, Post>, NV>(FloatRowWith<Pre, Post>{x, pre, post}, n, m);
}

}  // namespace oq
