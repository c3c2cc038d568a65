// Integer-only inference engines (same results, bit for bit, as packages/integer/src/engines:
// hadamrnn.ts, ornn.ts, common.ts), and the float HadamRNN inference of the same model for speed
// comparisons.
//
// Integer HadamRNN, per step t and row b (phase p = (t + phase0) mod 2):
//   z   = clamp(mbqm(sat32(bInput + Σ_d U[d]·(x_d − zp)), inputRescale[p]), ±2^30)  (input projection)
//   a   = (I ⊗ H_m) q_{t−1}            fast Walsh–Hadamard transform: adds and subtracts only
//   v   = z + (a ^ s) − s              sign flips, s = 0 or −1
//   v   = (v >> r_p) + roundUp          rounding right shift, ties away from zero (and, sub, shifts)
//   q_t = clamp(v, qmin, qmax), then ReLU as v & ~(v >> 31)
//   logits = sat32(cLogit[1 − p] + Σ_j V[j]·f(q_t,j))                             (readout)
// The recurrence is multiplication-free: butterflies inside a vector by one shuffle and a sign
// flip (psign on AVX2, xor/sub elsewhere) per stage, across vectors by adds and subtracts, on
// register chunks with the tail fused (one load and one store of the state per step). The state
// is kept in int16 codes (actBits ≤ 16); a row's step runs on 16 int16 lanes when m·2^(b−1) +
// max|z| + the rounding bias ≤ 32767 (so nothing it forms can leave int16), else on 8 int32 lanes
// (at b ≤ 12 after the transform's first four stages on int16 lanes, where they provably fit).
// One definition of the row step (rowStep) serves both widths and the float engine.
// The projection and readout multiply by the U and V codes as the JS engine does (the readout as
// vpmaddwd on AVX2).
//
// Exactness. JS computes these in doubles (exact below 2^53) or int32 bit operations. Here:
// - the WHT wraps modulo 2^32 like the Int32Array it writes to (never happens for states in
//   [qmin, qmax]: export keeps m·2^{b−1} ≤ 2^30); z + flipped ≤ 2^31 in magnitude — the one value
//   that does not fit int32, +2^31, is caught (shift 0: it clamps to qmax as the double does;
//   shift > 0: JS shifts ToInt32(v), the wrapped value, exactly as int32 lanes do);
// - the projection, dense recurrence and readout accumulate in int64 (exact, as the JS doubles
//   are), or in int32 — 16-bit operands, auto-vectorised to multiply-add of pairs — only when a
//   bound computed from the bit widths proves that no partial sum can leave int32;
// - states handed in from outside are checked to lie in [qmin, qmax] (else: an error, and the JS
//   engine runs).
// mbqm = TFLite's MultiplyByQuantizedMultiplier (fixed-point.ts), in int64.
//
// One-hot and token inputs: a row with exactly one input off its zero point projects to a
// function of (phase, d, x_d); such rows are computed once per call and then reused (likewise
// the bias-only rows the JS engine caches), up to MAX_CACHED_ROWS distinct rows.
#include <cfenv>
#include <type_traits>
#include <unordered_map>

#include "common.h"

namespace oq {
namespace {

// ---------------------------------------------------------------------------------------------
// Fixed point (fixed-point.ts).

struct Mult {
  int32_t multiplier;
  int shift;
};

inline int32_t sat32(int64_t x) { return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : int32_t(x); }

inline int32_t srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  const int64_t ab = int64_t(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t(1) << 30) : 1 - (int64_t(1) << 30);
  return int32_t((ab + nudge) / (int64_t(1) << 31));  // C++ division truncates toward zero
}

inline int32_t roundingRightShift(int32_t x, int s) {
  if (s == 0) return x;
  const int32_t mask = s == 31 ? 0x7fffffff : int32_t((1u << s) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> s) + (remainder > threshold ? 1 : 0);
}

inline int32_t saturatingLeftShift(int32_t x, int s) {
  if (s == 0) return x;
  const int32_t limit = INT32_MAX >> s;
  if (x > limit) return INT32_MAX;
  if (x < -limit - 1) return INT32_MIN;
  return int32_t(uint32_t(x) << s);
}

inline int32_t mbqm(int32_t x, const Mult& m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift > 0 ? 0 : -m.shift;
  const int32_t hi = srdhm(saturatingLeftShift(x, left), m.multiplier);
  return right > 31 ? 0 : roundingRightShift(hi, right);
}

// ---------------------------------------------------------------------------------------------
// Input projection of one row (common.ts projectInputs): out[j] = clamp(mbqm(sat32(acc_j)), ±2^30).

constexpr int32_t INPUT_LIMIT = 1 << 30;

// One projected row: the int32 codes, max_j |z_j|, a 16-bit copy when every |z_j| ≤ 32767, and
// z + the step's rounding bias (zb) when the phase has one (Projection::roundBias).
struct ZRow {
  std::vector<int32_t> z, zb;
  std::vector<int16_t> z16;
  int32_t zmax = 0;
  bool narrow = false;
};

constexpr size_t MAX_CACHED_ROWS = 4096;

struct Projection {
  int D, n;
  const int32_t* U;      // [D, n] codes
  const int32_t* bias;   // [n]
  int32_t zp;
  bool want16;           // fill ZRow::z16 (the 16-bit HadamRNN step may use it)
  int32_t roundBias[2] = {0, 0};  // per phase: fill ZRow::zb = z + this when nonzero
  std::vector<int64_t> acc;
  std::unordered_map<uint64_t, ZRow> cache;
  ZRow scratch;
  Projection(int D_, int n_, const int32_t* U_, const int32_t* b_, int32_t zp_, bool want16_ = false) : D(D_), n(n_), U(U_), bias(b_), zp(zp_), want16(want16_), acc(n_) {}

  void compute(const int32_t* x, const Mult& m, int32_t rb, ZRow& r) {
    r.z.resize(n);
    for (int j = 0; j < n; j++) acc[j] = bias[j];
    for (int d = 0; d < D; d++) {
      const int64_t xd = int64_t(x[d]) - zp;
      if (xd == 0) continue;
      const int32_t* row = U + size_t(d) * n;
      for (int j = 0; j < n; j++) acc[j] += row[j] * xd;
    }
    int32_t zmax = 0;
    for (int j = 0; j < n; j++) {
      int32_t v = mbqm(sat32(acc[j]), m);
      v = v < -INPUT_LIMIT ? -INPUT_LIMIT : v > INPUT_LIMIT ? INPUT_LIMIT : v;
      r.z[j] = v;
      zmax = std::max(zmax, v < 0 ? -v : v);
    }
    r.zmax = zmax;
    if (rb != 0) {  // |z| ≤ 2^30, rb < 2^30 (the caller's proof): no overflow
      r.zb.resize(n);
      for (int j = 0; j < n; j++) r.zb[j] = r.z[j] + rb;
    }
    r.narrow = want16 && zmax <= 32767;
    if (r.narrow) {
      r.z16.resize(n);
      for (int j = 0; j < n; j++) r.z16[j] = int16_t(r.z[j]);
    }
  }

  // The row of step phase `p` for inputs x [D]: computed into `scratch`, or a cached row.
  // Rows with at most one input off the zero point are cached: slot (p, d) holds the last value
  // seen there (one-hot and token inputs hit it every time), other values go to a hash map.
  struct Slot {
    int32_t value = 0;
    const ZRow* row = nullptr;
  };
  std::vector<Slot> slots;  // [2, D + 1]: d = −1 (bias only) at index 0

  const ZRow& row(const int32_t* x, int p, const Mult& m) {
    int nonzero = 0, which = -1;
    if (D <= 32) {  // branch-free: one-hot positions are random, a branch per input mispredicts
      for (int d = 0; d < D; d++) {
        const bool off = x[d] != zp;
        nonzero += off;
        which = off ? d : which;
      }
    } else {
      for (int d = 0; d < D && nonzero < 2; d++)
        if (x[d] != zp) nonzero++, which = d;
    }
    if (nonzero >= 2) {
      compute(x, m, roundBias[p], scratch);
      return scratch;
    }
    if (slots.empty()) slots.resize(size_t(2) * (D + 1));
    const int32_t value = which >= 0 ? x[which] : 0;
    Slot& s = slots[size_t(p) * (D + 1) + (which + 1)];
    if (s.row && s.value == value) return *s.row;
    const uint64_t key = (uint64_t(uint32_t(p)) << 62) | (uint64_t(uint32_t(which + 1)) << 32) | uint32_t(value);
    auto it = cache.find(key);
    if (it == cache.end()) {
      if (cache.size() >= MAX_CACHED_ROWS) {  // e.g. one wide-range input: stop caching
        compute(x, m, roundBias[p], scratch);
        return scratch;
      }
      it = cache.emplace(key, ZRow()).first;
      compute(x, m, roundBias[p], it->second);
    }
    if (!s.row) {  // unordered_map nodes do not move: the pointer stays valid
      s.value = value;
      s.row = &it->second;
    }
    return it->second;
  }
};

// ---------------------------------------------------------------------------------------------
// Readout of one row (common.ts readoutInteger): out[o] = sat32(c[o] + Σ_j V[j, o]·f(q_j)).

struct Readout {
  int n, O;
  bool relu, narrow;       // narrow: 16-bit operands, int32 sums (proved exact by the bound)
  std::vector<int32_t> Vt;   // [O, n]
  std::vector<int16_t> Vt16; // [O, n]
  std::vector<int16_t> q16;
  Readout(int n_, int O_, const int32_t* V, bool relu_, int actBits, const int32_t* c, int cRows) : n(n_), O(O_), relu(relu_), Vt(size_t(n_) * O_), Vt16(size_t(n_) * O_), q16(n_) {
    int64_t vmax = 0, cmax = 0;
    for (int j = 0; j < n; j++)
      for (int o = 0; o < O; o++) {
        const int32_t v = V[size_t(j) * O + o];
        Vt[size_t(o) * n + j] = v;
        Vt16[size_t(o) * n + j] = int16_t(v);
        vmax = std::max<int64_t>(vmax, v < 0 ? -int64_t(v) : v);
      }
    for (int k = 0; k < cRows * O; k++) cmax = std::max<int64_t>(cmax, c[k] < 0 ? -int64_t(c[k]) : c[k]);
    const int64_t qmax = int64_t(1) << (actBits - 1);
    narrow = actBits <= 16 && vmax <= 32767 && int64_t(n) * vmax * qmax + cmax < (int64_t(1) << 31) - 1;
  }

  // out[o] = sat32(c[o] + Σ_j V[j, o]·f(q_j)) in int64 (no bound proves int32 sums exact).
  template <class Q>
  void wideDots(const Q* q, const int32_t* c, int32_t* out) const {
    for (int o = 0; o < O; o++) {
      const int32_t* v = &Vt[size_t(o) * n];
      int64_t s = c[o];
      for (int j = 0; j < n; j++) s += int64_t(relu && q[j] < 0 ? 0 : q[j]) * v[j];
      out[o] = sat32(s);
    }
  }

  // From int32 state codes (the dense ORNN).
  void run(const int32_t* q, const int32_t* c, int32_t* out) {
    if (narrow) {
      for (int j = 0; j < n; j++) q16[j] = int16_t(relu && q[j] < 0 ? 0 : q[j]);
      dots16(q16.data(), c, out);
    } else {
      wideDots(q, c, out);
    }
  }

  // From 16-bit state codes (the HadamRNN keeps its state in int16: |q| ≤ 2^15 for actBits ≤ 16).
  void run(const int16_t* q, const int32_t* c, int32_t* out) {
#if defined(__AVX2__)
    if (narrow && n % 16 == 0) {  // ReLU on the loads
      if (relu) dotsAvx2<true>(q, c, out);
      else dotsAvx2<false>(q, c, out);
      return;
    }
#endif
    if (narrow) {
      const int16_t* f = q;
      if (relu) {
        for (int j = 0; j < n; j++) q16[j] = q[j] < 0 ? 0 : q[j];
        f = q16.data();
      }
      dots16(f, c, out);
    } else {
      wideDots(q, c, out);
    }
  }

  // out[o] = c[o] + Σ_j V[j, o]·f[j], 16-bit operands, int32 sums (exact: `narrow`).
  void dots16(const int16_t* f, const int32_t* c, int32_t* out) const {
#if defined(__AVX2__)
    if (n % 16 == 0) {
      dotsAvx2<false>(f, c, out);
      return;
    }
#endif
    for (int o = 0; o < O; o++) {
      const int16_t* v = &Vt16[size_t(o) * n];
      int32_t s = 0;
      for (int j = 0; j < n; j++) s += int32_t(f[j]) * int32_t(v[j]);  // vectorised: multiply-add of pairs
      out[o] = s + c[o];
    }
  }

#if defined(__AVX2__)
  // Every output, f = the codes (ReLU: max(q, 0), taken on the loads): one pass over f for up to
  // 12 outputs (O = 9, 10: the copy task, MNIST), else groups.
  template <bool Relu>
  void dotsAvx2(const int16_t* f, const int32_t* c, int32_t* out) const {
    if (O <= 12) {
      switch (O) {
        case 12: dotGroup<12, Relu>(f, 0, c, out); break;
        case 11: dotGroup<11, Relu>(f, 0, c, out); break;
        case 10: dotGroup<10, Relu>(f, 0, c, out); break;
        case 9: dotGroup<9, Relu>(f, 0, c, out); break;
        case 8: dotGroup<8, Relu>(f, 0, c, out); break;
        case 7: dotGroup<7, Relu>(f, 0, c, out); break;
        case 6: dotGroup<6, Relu>(f, 0, c, out); break;
        case 5: dotGroup<5, Relu>(f, 0, c, out); break;
        case 4: dotGroup<4, Relu>(f, 0, c, out); break;
        case 3: dotGroup<3, Relu>(f, 0, c, out); break;
        case 2: dotGroup<2, Relu>(f, 0, c, out); break;
        default: dotGroup<1, Relu>(f, 0, c, out); break;
      }
      return;
    }
    int o0 = 0;
    for (; o0 + 8 <= O; o0 += 8) dotGroup<8, Relu>(f, o0, c, out);
    if (O - o0 >= 4) dotGroup<4, Relu>(f, o0, c, out), o0 += 4;
    if (O - o0 >= 2) dotGroup<2, Relu>(f, o0, c, out), o0 += 2;
    if (O - o0 >= 1) dotGroup<1, Relu>(f, o0, c, out);
  }

  // K ≤ 16 outputs o0 … o0+K−1: one accumulator each, vpmaddwd on 16 lanes, then horizontal
  // reductions of 8 accumulators at a time (hadd tree, + c and stored as one vector).
  template <int K, bool Relu>
  void dotGroup(const int16_t* f, int o0, const int32_t* c, int32_t* out) const {
    static_assert(K >= 1 && K <= 16, "1..16 outputs");
    constexpr int R = K > 8 ? 16 : 8;  // a tree takes 8 accumulators: the unused ones stay 0
    __m256i acc[R];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_si256();
    const int16_t* v = &Vt16[size_t(o0) * n];
    for (int j = 0; j < n; j += 16) {
      __m256i fj = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f + j));
      if constexpr (Relu) fj = _mm256_max_epi16(fj, _mm256_setzero_si256());
      for (int r = 0; r < K; r++) acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(fj, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + size_t(r) * n + j))));
    }
    for (int g = 0; g < K; g += 8) {
      if (K - g <= 2) {  // one or two left (O = 9, 10): a horizontal sum each, not a tree of 8
        for (int r = g; r < K; r++) {
          __m128i x = _mm_add_epi32(_mm256_castsi256_si128(acc[r]), _mm256_extracti128_si256(acc[r], 1));
          x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
          out[o0 + r] = _mm_cvtsi128_si32(_mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1))) + c[o0 + r];
        }
        break;
      }
      const __m256i* a = acc + g;
      const __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[0], a[1]), _mm256_hadd_epi32(a[2], a[3]));
      const __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(a[4], a[5]), _mm256_hadd_epi32(a[6], a[7]));
      // lane r: output o0 + g + r
      const __m256i sum = _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
      if (K - g >= 8) {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + o0 + g), _mm256_add_epi32(sum, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + o0 + g))));
      } else {
        alignas(32) int32_t tmp[8];
        _mm256_store_si256(reinterpret_cast<__m256i*>(tmp), sum);
        for (int r = 0; r < K - g; r++) out[o0 + g + r] = tmp[r] + c[o0 + g + r];
      }
    }
  }
#endif
};

// ---------------------------------------------------------------------------------------------
// The step's tail on int32 lanes, and the scalar one.

// The rest of the step on one vector of 8: v = z + flip(a), then the rounding shift
// (hadamrnn.ts hadamardStep); the clamp to [lo, qmax] (ReLU after the clamp is the clamp to
// [0, qmax]) comes with the store (Int32Lanes), on int16 lanes after a saturating pack where it
// can: clamp(sat16(v)) = clamp(v) since [qmin, qmax] lies in int16. `roomy`: |z + flip(a)| +
// 2^(shift−1) < 2^31 is proved (|z| ≤ 2^30, |a| ≤ m·2^(b−1): caller), so the rounding shift,
// ties away from zero, is (v + 2^(shift−1) + (v >> 31)) >> shift — the same integers as JS's
// remainder test, fewer ops; then zz is z + 2^(shift−1) (ZRow::zb) and with v' = zz + flip(a),
// v < 0 ⟺ v' < 2^(shift−1): the result is (v' + (v' < bias ? −1 : 0)) >> shift.
struct Post32 {
  v8i vmask, vhalf, bias;
  int shift;
  bool roomy;
  Post32(int shift_, bool roomy_) : shift(shift_), roomy(roomy_) {
    const int32_t mask = shift == 31 ? 0x7fffffff : int32_t((1u << shift) - 1);
    vmask = splati(mask), vhalf = splati(mask >> 1);
    bias = splati(shift > 0 ? int32_t(1u << (shift - 1)) : 0);
  }
  // s: the signs as ±1. The result, clamped to [lo, qmax], is the new state code.
  OQ_ALWAYS_INLINE v8i operator()(v8i a, v8i zz, v8i s) const {
    const v8i f = flip32(a, s);
    const v8i v = (v8i)((v8u)zz + (v8u)f);  // wraps only at +2^31 (see the header)
    if (shift > 0 && roomy) return (v + (v < bias)) >> shift;  // zz = z + bias: no wrap
    if (shift > 0) {
      const v8i up = (v8i)((v8u)(vhalf + (v8i)((v8u)v >> 31) - (v & vmask)) >> 31);
      return (v >> shift) + up;
    }
    const v8i overflow = ((zz ^ v) & (f ^ v)) < 0;  // both addends ≥ 0, sum wrapped: +2^31
    return overflow ? splati(INT32_MAX) : v;
  }
};

// The step's tail on one row of int32 WHT outputs h, scalar (rows of n % 8 ≠ 0); sign: 0 or −1.
inline void integerPost(int32_t* h, const int32_t* z, const int32_t* sign, int n, int shift, int32_t qmin, int32_t qmax, bool relu) {
  const int32_t mask = shift == 31 ? 0x7fffffff : int32_t((1u << shift) - 1), half = mask >> 1;
  const int32_t lo0 = relu ? 0 : qmin;
  for (int j = 0; j < n; j++) {
    const int64_t v64 = int64_t(z[j]) + ((int64_t(h[j] ^ sign[j])) - sign[j]);
    int64_t v;
    if (shift > 0) {
      const int32_t vi = int32_t(uint32_t(uint64_t(v64)));
      const int32_t up = int32_t(uint32_t(half + int32_t(uint32_t(vi) >> 31) - (vi & mask)) >> 31);
      v = int64_t(vi >> shift) + up;
    } else {
      v = v64;
    }
    h[j] = int32_t(v < lo0 ? lo0 : v > qmax ? qmax : v);
  }
}

struct Post16 {
  v16s lo, hi, bias;
  int shift;
  Post16(int shift_, int16_t lo0, int16_t qmax) : lo(splats(lo0)), hi(splats(qmax)), bias(splats(shift_ > 0 ? int16_t(1 << (shift_ - 1)) : 0)), shift(shift_) {}
  // s: the signs as ±1.
  OQ_ALWAYS_INLINE v16s operator()(v16s a, v16s z, v16s s) const {
    v16s v = z + flip16(a, s);  // no wrap: zlim16
    if (shift > 0) v = (v + bias + (v >> 15)) >> shift;
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
  }
};

// The float step's tail on one vector: v = a·(sign/√m) + z, then ReLU.
struct FloatPost {
  bool relu;
  OQ_ALWAYS_INLINE v8 operator()(v8 a, v8 z, v8 s) const {
    const v8 v = a * s + z;
    return relu ? (v < splat(0.f) ? splat(0.f) : v) : v;
  }
};

// ---------------------------------------------------------------------------------------------
// The HadamRNN step on one row — one definition for the integer engine's two lane widths and the
// float engine, and the same register-chunked step as the float training (wht.h's whtRow) —
// without leaving registers between the transform's stages where the block fits: chunks of up to
// CHUNK vectors are loaded once, all their butterfly stages run on registers, and the tail (sign
// flip, add z, then rounding shift and clamp, or ReLU) runs before the single store — after the
// chunk when it holds whole blocks, else fused with the transform's last stage (the stages in
// between are passes over the row: in place, or on a scratch row of the lanes' type when the
// state is narrower).
//
// A lane policy says what differs between the three:
//   V, L     the vector type and its lanes; State the state's element type; Lane the element type
//            of z, the signs and the passes' row (State, or int32 for int16 state codes)
//   chunk    load NV vectors of the state and run every butterfly stage inside the chunk
//   post     the tail on one vector of transform outputs
//   store    the tails of NV vectors (1, or pairs) to the state
// - Int16Lanes: 16 int16 lanes when every value the step forms fits int16: the transform's
//   partial sums (|·| ≤ m·2^(b−1)), v = z + flip(a) and the rounding bias — proved per phase and
//   row from m, the activation bits b, the shift and the row's max |z| (`zlim16` in IntegerHadamRnn);
// - Int32Lanes: 8 int32 lanes otherwise (codes widened on load, narrowed on store). With
//   Prefix16 (b ≤ 12, m ≥ 16) the transform's first four stages (strides 1, 2, 4, 8: inside a
//   16-lane vector) run on int16 lanes before widening: each value they form is Σ ±q_j over at
//   most 16 codes of [qmin, qmax] — the all-plus row of H_16 in [16·qmin, 16·qmax] =
//   [−32768, 32752], every other row (eight of each sign) within ±8·(qmax − qmin) = ±32760, and
//   the earlier stages' sums of 2, 4, 8 within half of that: int16, exact;
// - FloatLanes: 8 float32 lanes (the float inference).

// The types a lane policy names: the vectors V of L lanes, the state's elements, the passes' row
// (the state itself when the types agree, else scratch), z and the signs (Lane), and whether the
// last stage is the policy's own (`last`, on other lanes than the rest).
template <class Vec, class St, class Rw, class Ln, bool SplitLast = false>
struct LaneTypes {
  using V = Vec;
  using State = St;
  using Row = Rw;
  using Lane = Ln;
  static constexpr int L = sizeof(Vec) / sizeof(Rw);
  static constexpr bool splitLast = SplitLast;
};

// Lanes of the state's own type (int16 codes, float32): loaded and stored as they are.
template <class Vec, class E, class Tail>
struct DirectLanes : LaneTypes<Vec, E, E, E> {
  using Base = LaneTypes<Vec, E, E, E>;
  using typename Base::V;
  using Base::L;
  Tail tail;
  template <int NV>
  OQ_ALWAYS_INLINE void chunk(const E* h, V* r, int m) const {
#pragma GCC unroll 8
    for (int i = 0; i < NV; i++) r[i] = vload<V>(h + i * L);
    whtChunk<V, NV>(r, m);
  }
  OQ_ALWAYS_INLINE V post(V a, V z, V s) const { return tail(a, z, s); }
  template <int NV>
  OQ_ALWAYS_INLINE void store(E* h, const V* r) const {
#pragma GCC unroll 8
    for (int i = 0; i < NV; i++) vstore(h + i * L, r[i]);
  }
};
using Int16Lanes = DirectLanes<v16s, int16_t, Post16>;
using FloatLanes = DirectLanes<v8, float, FloatPost>;

template <bool Prefix16>
struct Int32Lanes : LaneTypes<v8i, int16_t, int32_t, int32_t> {
  Post32 tail;
  v8i lo, hi;
  v16s lo16, hi16;
  Int32Lanes(const Post32& t, int32_t lo0, int32_t qmax) : tail(t), lo(splati(lo0)), hi(splati(qmax)), lo16(splats(int16_t(lo0))), hi16(splats(int16_t(qmax))) {}
  template <int NV>
  OQ_ALWAYS_INLINE void chunk(const int16_t* h, V* r, int m) const {
    if constexpr (Prefix16 && NV >= 2) {  // NV ≥ 2: m ≥ 16
#pragma GCC unroll 8
      for (int i = 0; i < NV; i += 2) {
        const v16s x = whtLanes(lds(h + i * L), m);
        r[i] = widenLo(x);
        r[i + 1] = widenHi(x);
      }
      whtAcross<V, NV, 2>(r);
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < NV; i++) r[i] = widen8(h + i * L);
      whtChunk<V, NV>(r, m);
    }
  }
  OQ_ALWAYS_INLINE V post(V a, V z, V s) const { return tail(a, z, s); }
  template <int NV>
  OQ_ALWAYS_INLINE void store(int16_t* h, const V* r) const {
    if constexpr (NV == 1) {
      v8i v = r[0] < lo ? lo : r[0];
      narrow8(h, v > hi ? hi : v);
    } else {
#pragma GCC unroll 8
      for (int i = 0; i < NV; i += 2) {
        const v16s v = packSat16(r[i], r[i + 1]);
        const v16s c = v < lo16 ? lo16 : v;
        sts(h + i * L, c > hi16 ? hi16 : c);
      }
    }
  }
};

// Every stage but the last on 16 int16 lanes, in place on the state, and the last (stride m/2)
// fused with Int32Lanes' tail: for b and m ≥ 64 with (m/2)·2^(b−1) ≤ 32768 (the values before the
// last stage are signed sums of m/2 codes: within [−32768, 32767] by Int32Lanes' argument with
// m/2 for 16), e.g. b = 10 at m = 128.
struct Int16BodyLanes : LaneTypes<v16s, int16_t, int16_t, int32_t, true> {
  Int32Lanes<false> wide;
  template <int NV>  // NV·L ≤ m/2
  OQ_ALWAYS_INLINE void chunk(const int16_t* h, V* r, int m) const {
#pragma GCC unroll 8
    for (int i = 0; i < NV; i++) r[i] = lds(h + i * L);
    whtChunk<V, NV>(r, m / 2);
  }
  // The last stage and the tail of the 16 values at j and the 16 at j + hh (row = h: read first).
  OQ_ALWAYS_INLINE void last(int16_t* h, const int16_t* row, const int32_t* z, const int32_t* s, int j, int hh) const {
    const v16s a = lds(row + j), b = lds(row + j + hh);
    const v8i a0 = widenLo(a), a1 = widenHi(a), b0 = widenLo(b), b1 = widenHi(b);
    const v8i sum[2] = {wide.post(a0 + b0, ldi(z + j), ldi(s + j)), wide.post(a1 + b1, ldi(z + j + 8), ldi(s + j + 8))};
    const v8i diff[2] = {wide.post(a0 - b0, ldi(z + j + hh), ldi(s + j + hh)), wide.post(a1 - b1, ldi(z + j + hh + 8), ldi(s + j + hh + 8))};
    wide.store<2>(h + j, sum);
    wide.store<2>(h + j + hh, diff);
  }
};

// A lane policy bound to one row — the state h, z, the signs s and the passes' row — as wht.h's
// row policy for whtRow.
template <class P>
struct LaneRow {
  using V = typename P::V;
  static constexpr int L = P::L;
  static constexpr bool splitLast = P::splitLast;
  static constexpr int tailVectors = 2;  // store<2>: Int32Lanes packs pairs to int16
  const P& lanes;
  typename P::State* h;
  const typename P::Lane* z;
  const typename P::Lane* s;
  typename P::Row* row;
  template <int NV>
  OQ_ALWAYS_INLINE void chunk(int c, V* r, int m) const { lanes.template chunk<NV>(h + c, r, m); }
  OQ_ALWAYS_INLINE V post(V a, int j) const { return lanes.post(a, vload<V>(z + j), vload<V>(s + j)); }
  template <int K>
  OQ_ALWAYS_INLINE void store(int j, const V* r) const { lanes.template store<K>(h + j, r); }
  OQ_ALWAYS_INLINE void last(int j, int hh) const { lanes.last(h, row, z, s, j, hh); }
};

// One step of one row (n a multiple of P::L) in place on h; z and s (the signs: ±1 for the
// integer lanes, sign/√m for the float ones) in the lanes' type; `tmp`: n lanes of scratch when
// the state is narrower than the lanes and a block is larger than a chunk (else unused).
template <class P, int NV>
inline void rowStep(typename P::State* h, const typename P::Lane* z, const typename P::Lane* s, int n, int m, const P& lanes, typename P::Row* tmp) {
  typename P::Row* row = tmp;  // the row the passes run on
  if constexpr (std::is_same_v<typename P::State, typename P::Row>) row = h;
  whtRow<LaneRow<P>, NV>(LaneRow<P>{lanes, h, z, s, row}, n, m);
}

void checkStateRange(const int32_t* h, size_t len, int32_t qmin, int32_t qmax) {
  for (size_t i = 0; i < len; i++)
    if (h[i] < qmin || h[i] > qmax)
      throw ArgError{"state code " + std::to_string(h[i]) + " at " + std::to_string(i) + " is outside [" + std::to_string(qmin) + ", " + std::to_string(qmax) + "]"};
}

// ---------------------------------------------------------------------------------------------
// Bindings (binding.cc).

Mult getMult(const int32_t* pair) { return Mult{pair[0], int(pair[1])}; }

}  // namespace

// integerHadamRnn(T, B, n, m, D, O, actBits, relu, readRelu, manyToMany, phase0,
//   xq, zp, U, bInput, inputRescale[4], signMask, stepShifts[2], V, cLogit[2·O], h, logits)
napi_value IntegerHadamRnn(const Args& a) {
  const int T = a.i32(0, "T"), B = a.i32(1, "B"), n = a.i32(2, "n"), m = a.i32(3, "m");
  const int D = a.i32(4, "inputSize"), O = a.i32(5, "outputSize"), bits = a.i32(6, "actBits");
  const bool relu = a.flag(7, "relu"), readRelu = a.flag(8, "readRelu"), many = a.flag(9, "manyToMany");
  const int phase0 = a.i32(10, "phase0");
  if (T < 1 || B < 1 || n < 1 || D < 1 || O < 1) throw ArgError{"T, B, n, inputSize and outputSize must be positive"};
  if (m < 1 || (m & (m - 1)) || n % m) throw ArgError{"m must be a power of two dividing n"};
  if (bits < 2 || bits > 16) throw ArgError{"actBits must be in 2..16"};
  if ((int64_t(m) << (bits - 1)) > (int64_t(1) << 30)) throw ArgError{"m·2^(actBits−1) exceeds 2^30"};
  const int32_t* xq = a.i32s(11, size_t(T) * B * D, "xq");
  const int32_t zp = a.i32(12, "inputZeroPoint");
  const int32_t* U = a.i32s(13, size_t(D) * n, "U");
  const int32_t* bInput = a.i32s(14, n, "bInput");
  const int32_t* rescale = a.i32s(15, 4, "inputRescale");
  const int32_t* sign = a.i32s(16, n, "signMask");
  const int32_t* shifts = a.i32s(17, 2, "stepShifts");
  const int32_t* V = a.i32s(18, size_t(n) * O, "V");
  const int32_t* cLogit = a.i32s(19, size_t(2) * O, "cLogit");
  int32_t* h = a.i32s(20, size_t(B) * n, "h");
  int32_t* logits = a.i32s(21, size_t(many ? T : 1) * B * O, "logits");
  for (int p = 0; p < 2; p++)
    if (shifts[p] < 0 || shifts[p] > 31) throw ArgError{"stepShifts must be in 0..31"};
  for (int j = 0; j < n; j++)
    if (sign[j] != 0 && sign[j] != -1) throw ArgError{"signMask entries must be 0 or −1"};
  const int32_t qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1;
  checkStateRange(h, size_t(B) * n, qmin, qmax);
  const Mult mult[2] = {getMult(rescale), getMult(rescale + 2)};
  const int32_t lo = relu ? 0 : qmin;
  // Per phase: the int32 tail's short rounding (|z| ≤ 2^30, |a| ≤ m·2^(b−1): exact when this
  // leaves room), and the largest max|z| of a row that the int16 step takes: |a| ≤ m·2^(b−1),
  // |z + flip(a)| + 2^(shift−1) ≤ 32767 (−1: none, e.g. m·2^(b−1) alone is too large).
  bool roomy[2];
  int32_t zlim16[2];
  for (int p = 0; p < 2; p++) {
    roomy[p] = shifts[p] > 0 && (int64_t(m) << (bits - 1)) + (int64_t(1) << (shifts[p] - 1)) < (int64_t(1) << 30);
    const int64_t need = (int64_t(m) << (bits - 1)) + (shifts[p] > 0 ? int64_t(1) << (shifts[p] - 1) : 0);
    zlim16[p] = n % 16 == 0 && shifts[p] <= 14 && need <= 32767 ? int32_t(32767 - need) : -1;
  }
  const bool any16 = zlim16[0] >= 0 || zlim16[1] >= 0;
  const Int16Lanes lanes16[2] = {{{}, Post16(any16 ? shifts[0] : 0, int16_t(lo), int16_t(qmax))}, {{}, Post16(any16 ? shifts[1] : 0, int16_t(lo), int16_t(qmax))}};
  const Int32Lanes<true> lanes32p[2] = {{Post32(shifts[0], roomy[0]), lo, qmax}, {Post32(shifts[1], roomy[1]), lo, qmax}};
  const Int32Lanes<false> lanes32[2] = {{Post32(shifts[0], roomy[0]), lo, qmax}, {Post32(shifts[1], roomy[1]), lo, qmax}};
  const bool prefix16 = bits <= 12;  // Int32Lanes<true>: the first four stages on int16 lanes
  // Int16BodyLanes: every stage but the last on int16 lanes.
  const bool body16 = n % 16 == 0 && m >= 64 && (int64_t(m / 2) << (bits - 1)) <= 32768;
  const Int16BodyLanes lanesBody[2] = {{{}, lanes32[0]}, {{}, lanes32[1]}};
  const int nvBody = chunkVectors(m / 2, 16);
  std::vector<int16_t> sign16(n);  // the signs as ±1 for the SIMD steps
  std::vector<int32_t> sign32(n);
  for (int j = 0; j < n; j++) sign16[j] = int16_t(sign32[j] = sign[j] | 1);
  // The state in int16 codes (b ≤ 16) for the whole call; int32 scratch for the wide step.
  std::vector<int16_t> hs(size_t(B) * n);
  for (size_t k = 0; k < hs.size(); k++) hs[k] = int16_t(h[k]);
  std::vector<int32_t> tmp(n);
  Projection proj(D, n, U, bInput, zp, any16);
  for (int p = 0; p < 2; p++)  // Post32's short rounding takes z + 2^(shift−1) (ZRow::zb)
    if (roomy[p]) proj.roundBias[p] = int32_t(1u << (shifts[p] - 1));
  Readout readout(n, O, V, readRelu, bits, cLogit, 2);
  const int nv16 = chunkVectors(m, 16), nv32 = chunkVectors(m, 8);
  double steps16 = 0;
  for (int t = 0; t < T; t++) {
    const int p = (t + phase0) & 1;
    const bool emit = many || t == T - 1;
    for (int b = 0; b < B; b++) {
      int16_t* hb = &hs[size_t(b) * n];
      const ZRow& zr = proj.row(xq + (size_t(t) * B + b) * D, p, mult[p]);
      const int32_t* z32 = roomy[p] ? zr.zb.data() : zr.z.data();  // the int32 lanes' z (Post32)
      if (zr.narrow && zr.zmax <= zlim16[p]) {
        byChunk(nv16, [&](auto nv) { rowStep<Int16Lanes, decltype(nv)::value>(hb, zr.z16.data(), sign16.data(), n, m, lanes16[p], nullptr); });
        steps16++;
      } else if (body16) {
        byChunk(nvBody, [&](auto nv) { rowStep<Int16BodyLanes, decltype(nv)::value>(hb, z32, sign32.data(), n, m, lanesBody[p], nullptr); });
      } else if (n % 8 == 0 && prefix16) {
        byChunk(nv32, [&](auto nv) { rowStep<Int32Lanes<true>, decltype(nv)::value>(hb, z32, sign32.data(), n, m, lanes32p[p], tmp.data()); });
      } else if (n % 8 == 0) {
        byChunk(nv32, [&](auto nv) { rowStep<Int32Lanes<false>, decltype(nv)::value>(hb, z32, sign32.data(), n, m, lanes32[p], tmp.data()); });
      } else {
        for (int j = 0; j < n; j++) tmp[j] = hb[j];
        iwht_row(tmp.data(), n, m);
        integerPost(tmp.data(), zr.z.data(), sign, n, shifts[p], qmin, qmax, relu);
        for (int j = 0; j < n; j++) hb[j] = int16_t(tmp[j]);
      }
      if (emit) readout.run(hb, cLogit + size_t(1 - p) * O, logits + (size_t(many ? t : 0) * B + b) * O);
    }
  }
  for (size_t k = 0; k < hs.size(); k++) h[k] = hs[k];
  return a.number(steps16);
}

// integerOrnn(T, B, n, D, O, actBits, relu, readRelu, manyToMany,
//   xq, zp, U, bInput, inputRescale[2], W, stateRescale[2], V, cLogit[O], h, logits)
napi_value IntegerOrnn(const Args& a) {
  const int T = a.i32(0, "T"), B = a.i32(1, "B"), n = a.i32(2, "n");
  const int D = a.i32(3, "inputSize"), O = a.i32(4, "outputSize"), bits = a.i32(5, "actBits");
  const bool relu = a.flag(6, "relu"), readRelu = a.flag(7, "readRelu"), many = a.flag(8, "manyToMany");
  if (T < 1 || B < 1 || n < 1 || D < 1 || O < 1) throw ArgError{"T, B, n, inputSize and outputSize must be positive"};
  if (bits < 2 || bits > 16) throw ArgError{"actBits must be in 2..16"};
  const int32_t* xq = a.i32s(9, size_t(T) * B * D, "xq");
  const int32_t zp = a.i32(10, "inputZeroPoint");
  const int32_t* U = a.i32s(11, size_t(D) * n, "U");
  const int32_t* bInput = a.i32s(12, n, "bInput");
  const Mult inMult = getMult(a.i32s(13, 2, "inputRescale"));
  const int32_t* W = a.i32s(14, size_t(n) * n, "W");
  const Mult stMult = getMult(a.i32s(15, 2, "stateRescale"));
  const int32_t* V = a.i32s(16, size_t(n) * O, "V");
  const int32_t* cLogit = a.i32s(17, O, "cLogit");
  int32_t* h = a.i32s(18, size_t(B) * n, "h");
  int32_t* logits = a.i32s(19, size_t(many ? T : 1) * B * O, "logits");
  const int32_t qmin = -(1 << (bits - 1)), qmax = (1 << (bits - 1)) - 1, lo = relu ? 0 : qmin;
  checkStateRange(h, size_t(B) * n, qmin, qmax);
  // W · q in int32 from 16-bit operands when |W|·|q|·n + |z| cannot leave int32.
  int64_t wmax = 0;
  for (size_t k = 0; k < size_t(n) * n; k++) wmax = std::max<int64_t>(wmax, W[k] < 0 ? -int64_t(W[k]) : W[k]);
  const bool narrow = wmax <= 32767 && int64_t(n) * wmax * (int64_t(1) << (bits - 1)) < (int64_t(1) << 30);
  std::vector<int16_t> W16(narrow ? size_t(n) * n : 0), q16(n);
  for (size_t k = 0; k < W16.size(); k++) W16[k] = int16_t(W[k]);
  Projection proj(D, n, U, bInput, zp);
  Readout readout(n, O, V, readRelu, bits, cLogit, 1);
  std::vector<int32_t> next(size_t(B) * n);
  for (int t = 0; t < T; t++) {
    for (int b = 0; b < B; b++) {
      const int32_t* hb = h + size_t(b) * n;
      int32_t* nb = &next[size_t(b) * n];
      const int32_t* zr = proj.row(xq + (size_t(t) * B + b) * D, 0, inMult).z.data();
      if (narrow) {
        for (int j = 0; j < n; j++) q16[j] = int16_t(hb[j]);
        for (int i = 0; i < n; i++) {
          const int16_t* w = &W16[size_t(i) * n];
          const int16_t* q = q16.data();
          int32_t s = 0;
          for (int j = 0; j < n; j++) s += int32_t(w[j]) * int32_t(q[j]);
          const int32_t v = mbqm(sat32(int64_t(s) + zr[i]), stMult);
          nb[i] = v < lo ? lo : v > qmax ? qmax : v;
        }
      } else {
        for (int i = 0; i < n; i++) {
          const int32_t* w = W + size_t(i) * n;
          int64_t s = zr[i];
          for (int j = 0; j < n; j++) s += int64_t(w[j]) * hb[j];
          const int32_t v = mbqm(sat32(s), stMult);
          nb[i] = v < lo ? lo : v > qmax ? qmax : v;
        }
      }
    }
    std::memcpy(h, next.data(), sizeof(int32_t) * next.size());
    if (many || t == T - 1)
      for (int b = 0; b < B; b++) readout.run(h + size_t(b) * n, cLogit, logits + (size_t(many ? t : 0) * B + b) * O);
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// The float HadamRNN (FloatHadamRnn below), built like the integer one: the step of a row on
// register chunks with the tail fused (one load and one store of the state per step where the
// blocks fit a chunk), one-hot projection rows cached, the readout without padded outputs.

// Input projection z = b + Σ_d x_d·U[d] (zero inputs skipped). A row with at most one nonzero
// input is kept per position d (the last value seen there: one-hot and token inputs hit it
// every time); others are computed into `scratch`.
struct FloatProjection {
  int D, n;
  const float* U;
  const float* bias;
  std::vector<float> scratch, rows, values;  // rows: [D + 1, n], d = −1 (bias only) first
  std::vector<char> valid;
  FloatProjection(int D_, int n_, const float* U_, const float* b_) : D(D_), n(n_), U(U_), bias(b_), scratch(n_) {}

  void compute(const float* x, float* z) const {
    std::memcpy(z, bias, sizeof(float) * n);
    for (int d = 0; d < D; d++) {
      const float xd = x[d];
      if (xd == 0.f) continue;
      const float* row = U + size_t(d) * n;
      for (int j = 0; j < n; j++) z[j] += xd * row[j];
    }
  }

  const float* row(const float* x) {
    int nonzero = 0, which = -1;
    if (D <= 32) {  // branch-free, as Projection::row
      for (int d = 0; d < D; d++) {
        const bool off = x[d] != 0.f;
        nonzero += off;
        which = off ? d : which;
      }
    } else {
      for (int d = 0; d < D && nonzero < 2; d++)
        if (x[d] != 0.f) nonzero++, which = d;
    }
    if (nonzero >= 2) {
      compute(x, scratch.data());
      return scratch.data();
    }
    if (valid.empty()) rows.resize(size_t(D + 1) * n), values.resize(D + 1), valid.resize(D + 1, 0);
    const float value = which >= 0 ? x[which] : 0.f;  // compared bit for bit
    float* r = &rows[size_t(which + 1) * n];
    if (!valid[which + 1] || std::memcmp(&values[which + 1], &value, sizeof value) != 0) {
      compute(x, r);
      values[which + 1] = value;
      valid[which + 1] = 1;
    }
    return r;
  }
};

// Readout of one row: out[o] = c[o] + Σ_j Vt[o, j]·f(h_j), K outputs at a time, one 8-lane
// accumulator each (independent FMA chains), each summed the same way whatever K is.
template <int K>
OQ_ALWAYS_INLINE void floatReadoutGroup(const float* h, const float* vt, int n, bool relu, const float* c, float* out) {
  v8 acc[K];
#pragma GCC unroll 16
  for (int q = 0; q < K; q++) acc[q] = splat(0.f);
  for (int j = 0; j < n; j += 8) {
    v8 fj = ld(h + j);
    if (relu) fj = fj < splat(0.f) ? splat(0.f) : fj;
#pragma GCC unroll 16
    for (int q = 0; q < K; q++) acc[q] += fj * ld(vt + size_t(q) * n + j);
  }
#pragma GCC unroll 16
  for (int q = 0; q < K; q++) {
    const v8 a = acc[q];
    out[q] = c[q] + (((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])));
  }
}

inline void floatReadout(const float* h, const float* Vt, int np, int O, bool relu, const float* c, float* out) {
  // One pass over h for up to 12 outputs (O = 9, 10: the copy task, MNIST), as the integer
  // readout does (Readout::dotsAvx2), else groups of 8 and the rest.
  switch (O) {
    case 9: floatReadoutGroup<9>(h, Vt, np, relu, c, out); return;
    case 10: floatReadoutGroup<10>(h, Vt, np, relu, c, out); return;
    case 11: floatReadoutGroup<11>(h, Vt, np, relu, c, out); return;
    case 12: floatReadoutGroup<12>(h, Vt, np, relu, c, out); return;
    default: break;
  }
  int o0 = 0;
  for (; o0 + 8 <= O; o0 += 8) floatReadoutGroup<8>(h, Vt + size_t(o0) * np, np, relu, c + o0, out + o0);
  const float* vt = Vt + size_t(o0) * np;
  switch (O - o0) {
    case 0: break;
    case 1: floatReadoutGroup<1>(h, vt, np, relu, c + o0, out + o0); break;
    case 2: floatReadoutGroup<2>(h, vt, np, relu, c + o0, out + o0); break;
    case 3: floatReadoutGroup<3>(h, vt, np, relu, c + o0, out + o0); break;
    case 4: floatReadoutGroup<4>(h, vt, np, relu, c + o0, out + o0); break;
    case 5: floatReadoutGroup<5>(h, vt, np, relu, c + o0, out + o0); break;
    case 6: floatReadoutGroup<6>(h, vt, np, relu, c + o0, out + o0); break;
    default: floatReadoutGroup<7>(h, vt, np, relu, c + o0, out + o0); break;
  }
}

// floatHadamRnn(T, B, n, m, D, O, relu, readRelu, manyToMany, x, U, b, scaledSigns, V, c, h, logits):
// the float32 inference of the same model, built like the integer engine (above), for the
// integer-vs-float speed comparison.
napi_value FloatHadamRnn(const Args& a) {
  const int T = a.i32(0, "T"), B = a.i32(1, "B"), n = a.i32(2, "n"), m = a.i32(3, "m");
  const int D = a.i32(4, "inputSize"), O = a.i32(5, "outputSize");
  const bool relu = a.flag(6, "relu"), readRelu = a.flag(7, "readRelu"), many = a.flag(8, "manyToMany");
  if (T < 1 || B < 1 || n < 1 || D < 1 || O < 1) throw ArgError{"T, B, n, inputSize and outputSize must be positive"};
  if (m < 1 || (m & (m - 1)) || n % m) throw ArgError{"m must be a power of two dividing n"};
  const float* x = a.f32(9, size_t(T) * B * D, "x");
  const float* U = a.f32(10, size_t(D) * n, "U");
  const float* bias = a.f32(11, n, "b");
  const float* sc = a.f32(12, n, "scaledSigns");
  const float* V = a.f32(13, size_t(n) * O, "V");
  const float* c = a.f32(14, O, "c");
  float* h = a.f32(15, size_t(B) * n, "h");
  float* logits = a.f32(16, size_t(many ? T : 1) * B * O, "logits");
  const int np = (n + 7) / 8 * 8;  // rows of n % 8 ≠ 0 are padded with zeros for the readout
  std::vector<float> Vt(size_t(O) * np, 0.f), hp(n % 8 ? np : 0, 0.f);
  for (int j = 0; j < n; j++)
    for (int o = 0; o < O; o++) Vt[size_t(o) * np + j] = V[size_t(j) * O + o];
  FloatProjection proj(D, n, U, bias);
  const int nv = chunkVectors(m, 8);
  const FloatLanes lanes{{}, FloatPost{relu}};
  for (int t = 0; t < T; t++) {
    const bool emit = many || t == T - 1;
    for (int b = 0; b < B; b++) {
      float* hb = h + size_t(b) * n;
      const float* z = proj.row(x + (size_t(t) * B + b) * D);
      const float* hr = hb;
      if (n % 8 == 0) {
        byChunk(nv, [&](auto k) { rowStep<FloatLanes, decltype(k)::value>(hb, z, sc, n, m, lanes, nullptr); });
      } else {
        fwht_row(hb, n, m);
        for (int j = 0; j < n; j++) {
          const float v = hb[j] * sc[j] + z[j];
          hb[j] = hp[j] = relu && v < 0.f ? 0.f : v;
        }
        hr = hp.data();
      }
      if (emit) floatReadout(hr, Vt.data(), np, O, readRelu, c, logits + (size_t(many ? t : 0) * B + b) * O);
    }
  }
  return nullptr;
}

// integerQuantizeInputs(x, scale, zeroPoint, qmin, qmax, out): the sensor boundary of every
// integer engine (common.ts inputCodes), out = clamp(roundHalfEven(x / scale) + zp, qmin, qmax)
// in doubles as JS computes it; NaN becomes 0 as an Int32Array store of NaN does.
napi_value IntegerQuantizeInputs(const Args& a) {
  size_t len = 0;
  const float* x = a.f32Any(0, "x", len);
  const double scale = a.f64(1, "scale");
  if (!(scale > 0.0)) throw ArgError{"scale must be a positive number"};
  const double zp = a.i32(2, "zeroPoint"), lo = a.i32(3, "qmin"), hi = a.i32(4, "qmax");
  int32_t* out = a.i32s(5, len, "out");
  if (std::fegetround() != FE_TONEAREST) throw ArgError{"the floating-point rounding mode is not round-to-nearest"};
  // 4 lanes of doubles: y = x / scale (the same division as JS), clamped to one step beyond
  // the code range (NaN passes), rounded to nearest even by adding and subtracting 1.5·2^52
  // (exact for |y| < 2^51; round-to-nearest is checked above), + zp, clamp, NaN → 0.
  typedef double v4d __attribute__((vector_size(32)));
  typedef float v4f __attribute__((vector_size(16)));
  typedef int32_t v4i __attribute__((vector_size(16)));
  const auto splat4 = [](double d) { return (v4d){d, d, d, d}; };
  const v4d vscale = splat4(scale), ylo = splat4(lo - zp - 1), yhi = splat4(hi - zp + 1), vlo = splat4(lo), vhi = splat4(hi), vzp = splat4(zp);
  const v4d magic = splat4(6755399441055744.0), zero = splat4(0.0);
  // A power-of-two scale (the papers' power-of-two clipping ranges): x · (1/scale) is the
  // same correctly rounded value as x / scale (1/scale exact), and a multiply is cheaper.
  // Any other scale (both it and 1/scale normal): y = x · RN(1/scale) is within 3·2^−53 of
  // q = RN(x / scale), relative (RN(1/scale) and the product each round once) — less than
  // 2^−51·|y|. Rounding to an integer (and the clamps, whose bounds are integers) can tell y
  // from q only when a half-integer lies within that distance of y; a vector with a lane that
  // close to one (margin 2^−48·|y|, NaN included) is divided as JS divides. |y − rint(y)| and
  // 0.5 − it are exact (multiples of ulp(y), at most 0.5).
  int e2 = 0;
  const bool pow2 = std::frexp(scale, &e2) == 0.5 && std::isnormal(1.0 / scale);
  const bool recip = !pow2 && std::isnormal(scale) && std::isnormal(1.0 / scale);
  const v4d vinv = splat4(1.0 / scale), half = splat4(0.5), margin = splat4(0x1p-48);
  typedef int64_t v4l __attribute__((vector_size(32)));
  const auto vabs = [](v4d v) { return v < 0.0 ? -v : v; };
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    v4f xf;
    std::memcpy(&xf, x + i, sizeof xf);
    const v4d xd = __builtin_convertvector(xf, v4d);
    v4d y = pow2 || recip ? xd * vinv : xd / vscale;
    y = y < ylo ? ylo : y;
    y = y > yhi ? yhi : y;
    v4d r = (y + magic) - magic;
    if (recip) {
      const v4l clear = vabs(y - r) < half - vabs(y) * margin;
      if (!(clear[0] & clear[1] & clear[2] & clear[3])) {
        y = xd / vscale;
        y = y < ylo ? ylo : y;
        y = y > yhi ? yhi : y;
        r = (y + magic) - magic;
      }
    }
    v4d v = r + vzp;
    v = v < vlo ? vlo : v;
    v = v > vhi ? vhi : v;
    v = v == v ? v : zero;
    const v4i q = __builtin_convertvector(v, v4i);
    std::memcpy(out + i, &q, sizeof q);
  }
  for (; i < len; i++) {
    double v = std::nearbyint(double(x[i]) / scale) + 0.0 + zp;  // ties to even, like roundHalfEven
    v = v < lo ? lo : v > hi ? hi : v;
    out[i] = v == v ? int32_t(v) : 0;
  }
  return nullptr;
}

}  // namespace oq
