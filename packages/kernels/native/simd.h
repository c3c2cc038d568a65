// 8-lane SIMD vectors (and 16-lane int16 ones) through GCC/Clang vector extensions, lowered to
// whatever the build targets (binding.gyp: baseline SSE2, and -mavx2 -mfma on x64), and the
// vectorised math on them: exp, tanh (glibc's scalar tanhf costs more than the whole
// Walsh–Hadamard step) and a tanh row. AVX2 intrinsics only where vector extensions have no
// spelling (psign, saturating packs), each with a portable fallback.
// Everything is inline (one definition shared by every translation unit).
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

// Inlined even where the compiler's heuristics would not (vector helpers in hot loops).
#define OQ_ALWAYS_INLINE inline __attribute__((always_inline))

namespace oq {

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));

#if defined(__clang__)
#define SHUF(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#define SHUF2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUF(v, ...) __builtin_shuffle(v, (v8i){__VA_ARGS__})
#define SHUF2(a, b, ...) __builtin_shuffle(a, b, (v8i){__VA_ARGS__})
#endif

// Unaligned loads and stores of any vector type V from/to its lane type.
template <class V, class S>
inline V vload(const S* p) {
  V r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
template <class V, class S>
inline void vstore(S* p, V v) { std::memcpy(p, &v, sizeof v); }

inline v8 ld(const float* p) { return vload<v8>(p); }
inline void st(float* p, v8 v) { vstore(p, v); }
inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }
// c[l][q] = r[q][l]: the transpose of 8 vectors (pairs of lanes, then of pairs, then halves).
inline void transpose8(const v8* r, v8* c) {
  v8 t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = SHUF2(r[k], r[k + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[k + 1] = SHUF2(r[k], r[k + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int k = 0; k < 8; k += 4) {
    u[k] = SHUF2(t[k], t[k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[k + 1] = SHUF2(t[k], t[k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[k + 2] = SHUF2(t[k + 1], t[k + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[k + 3] = SHUF2(t[k + 1], t[k + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int k = 0; k < 4; k++) {
    c[k] = SHUF2(u[k], u[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    c[k + 4] = SHUF2(u[k], u[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// The first w ≤ 8 lanes: ldPart reads p[0, w) (the other lanes zero), stPart writes p[0, w).
inline v8 ldPart(const float* p, int w) {
  if (w == 8) return ld(p);
  float t[8] = {};
  std::memcpy(t, p, sizeof(float) * w);
  return ld(t);
}
inline void stPart(float* p, v8 v, int w) {
  if (w == 8) return st(p, v);
  float t[8];
  st(t, v);
  std::memcpy(p, t, sizeof(float) * w);
}
inline v8i ldi(const int32_t* p) { return vload<v8i>(p); }
inline void sti(int32_t* p, v8i v) { vstore(p, v); }
inline v8i splati(int32_t x) { return (v8i){x, x, x, x, x, x, x, x}; }

// ---------------------------------------------------------------------------------------------
// 16 lanes of int16 (the integer engine's codes), and conversions between int16 codes and v8i.

typedef int16_t v16s __attribute__((vector_size(32)));
typedef int16_t v8s __attribute__((vector_size(16)));

#if defined(__clang__)
#define SHUF16(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define SHUF16(v, ...) __builtin_shuffle(v, (v16s){__VA_ARGS__})
#endif

OQ_ALWAYS_INLINE v16s lds(const int16_t* p) { return vload<v16s>(p); }
OQ_ALWAYS_INLINE void sts(int16_t* p, v16s v) { vstore(p, v); }
inline v16s splats(int16_t x) { return (v16s){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x}; }

// 8 int16 codes → 8 int32 lanes.
OQ_ALWAYS_INLINE v8i widen8(const int16_t* p) {
#if defined(__AVX2__)
  return (v8i)_mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
#else
  return __builtin_convertvector(vload<v8s>(p), v8i);
#endif
}
// The low and the high 8 of 16 int16 lanes → 8 int32 lanes.
OQ_ALWAYS_INLINE v8i widenLo(v16s x) {
#if defined(__AVX2__)
  return (v8i)_mm256_cvtepi16_epi32(_mm256_castsi256_si128((__m256i)x));
#else
  v8s h;
  std::memcpy(&h, &x, sizeof h);
  return __builtin_convertvector(h, v8i);
#endif
}
OQ_ALWAYS_INLINE v8i widenHi(v16s x) {
#if defined(__AVX2__)
  return (v8i)_mm256_cvtepi16_epi32(_mm256_extracti128_si256((__m256i)x, 1));
#else
  v8s h;
  std::memcpy(&h, reinterpret_cast<const char*>(&x) + sizeof h, sizeof h);
  return __builtin_convertvector(h, v8i);
#endif
}
// Two vectors of int32 lanes → 16 int16 lanes, each saturated to [−32768, 32767] (lanes of a, then of b).
OQ_ALWAYS_INLINE v16s packSat16(v8i a, v8i b) {
#if defined(__AVX2__)
  return (v16s)_mm256_permute4x64_epi64(_mm256_packs_epi32((__m256i)a, (__m256i)b), 0xd8);
#else
  const v8i lo = splati(-32768), hi = splati(32767);
  a = a < lo ? lo : a > hi ? hi : a;
  b = b < lo ? lo : b > hi ? hi : b;
  const v8s sa = __builtin_convertvector(a, v8s), sb = __builtin_convertvector(b, v8s);
  v16s r;
  std::memcpy(&r, &sa, sizeof sa);
  std::memcpy(reinterpret_cast<char*>(&r) + sizeof sa, &sb, sizeof sb);
  return r;
#endif
}
// 8 int32 lanes in int16 range → 8 int16 codes.
OQ_ALWAYS_INLINE void narrow8(int16_t* p, v8i v) { vstore(p, __builtin_convertvector(v, v8s)); }
// v · s per lane, s ∈ {+1, −1}: psign on AVX2, else (v ^ m) − m with m = s >> 1 ∈ {0, −1}.
OQ_ALWAYS_INLINE v8i flip32(v8i v, v8i s) {
#if defined(__AVX2__)
  return (v8i)_mm256_sign_epi32((__m256i)v, (__m256i)s);
#else
  const v8i m = s >> 1;
  return (v ^ m) - m;
#endif
}
OQ_ALWAYS_INLINE v16s flip16(v16s v, v16s s) {
#if defined(__AVX2__)
  return (v16s)_mm256_sign_epi16((__m256i)v, (__m256i)s);
#else
  const v16s m = s >> 1;
  return (v ^ m) - m;
#endif
}

// ---------------------------------------------------------------------------------------------
// tanh on 8 lanes.
// |x| < 0.625: odd minimax polynomial (Cephes tanhf); else 1 − 2/(e^{2|x|} + 1) with a
// range-reduced polynomial exp (Cephes expf). Max error ~2 ulp-ish, far inside the 1e-5 tests.

inline v8 exp8(v8 x) {
  x = x < splat(88.f) ? x : splat(88.f);
  x = x > splat(-87.f) ? x : splat(-87.f);
  // k = round(x / ln 2) (half away from zero; conversion truncates), r = x − k ln 2 in two parts.
  const v8 t = x * splat(1.44269504088896341f);
  const v8i k = __builtin_convertvector(t + (t < splat(0.f) ? splat(-0.5f) : splat(0.5f)), v8i);
  const v8 kf = __builtin_convertvector(k, v8);
  v8 r = x - kf * splat(0.693359375f);
  r = r - kf * splat(-2.12194440e-4f);
  v8 p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * r * r + r + splat(1.f);
  const v8i bits = (k + 127) << 23;  // 2^k
  v8 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline v8 tanh8(v8 x) {
  const v8i signMask = (v8i){INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN, INT32_MIN};
  v8i xi;
  std::memcpy(&xi, &x, sizeof xi);
  const v8i sign = xi & signMask;
  v8 ax;
  const v8i axi = xi & ~signMask;
  std::memcpy(&ax, &axi, sizeof ax);
  // Large: 1 − 2/(e^{2|x|} + 1).
  const v8 large = splat(1.f) - splat(2.f) / (exp8(ax + ax) + splat(1.f));
  // Small: x + x·s·P(s), s = x².
  const v8 s2 = ax * ax;
  v8 p = splat(-5.70498872745e-3f);
  p = p * s2 + splat(2.06390887954e-2f);
  p = p * s2 + splat(-5.37397155531e-2f);
  p = p * s2 + splat(1.33314422036e-1f);
  p = p * s2 + splat(-3.33332819422e-1f);
  const v8 small = ax + ax * s2 * p;
  const v8 r = ax < splat(0.625f) ? small : large;
  v8i ri;
  std::memcpy(&ri, &r, sizeof ri);
  ri |= sign;
  v8 out;
  std::memcpy(&out, &ri, sizeof out);
  return out;
}

inline v8 sigmoid8(v8 x) { return splat(1.f) / (splat(1.f) + exp8(-x)); }

// out[i] = tanh(a[i] + z[i]) for a row of any length.
inline void tanh_row(const float* a, const float* z, float* out, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) st(out + i, tanh8(ld(a + i) + ld(z + i)));
  if (i < n) {
    float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = i; j < n; j++) buf[j - i] = a[j] + z[j];
    const v8 r = tanh8(ld(buf));
    st(buf, r);
    for (int j = i; j < n; j++) out[j] = buf[j - i];
  }
}

}  // namespace oq
