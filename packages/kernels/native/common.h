// Shared primitives of the native kernels (scan.cc, reversible.cc): 8-lane SIMD vectors,
// the fast Walsh–Hadamard transform, vectorised tanh, activations and their derivatives, the
// register-blocked dense products, the batch split over threads, and the Node-API argument
// checks. Everything is inline (one definition shared by every translation unit).
#pragma once

#include <node_api.h>

#include <algorithm>
#include <cmath>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace oq {

typedef float v8 __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#if defined(__clang__)
#define SHUF(v, ...) __builtin_shufflevector(v, v, __VA_ARGS__)
#else
#define SHUF(v, ...) __builtin_shuffle(v, (v8i){__VA_ARGS__})
#endif

inline v8 ld(const float* p) {
  v8 r;
  std::memcpy(&r, p, sizeof r);
  return r;
}
inline void st(float* p, v8 v) { std::memcpy(p, &v, sizeof v); }
inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

enum Act { LINEAR = 0, RELU = 1, TANH = 2, MODRELU = 3 };
enum Kind { DENSE = 0, HADAMARD = 1 };

// ---------------------------------------------------------------------------------------------
// Fast Walsh–Hadamard transform of one row of n floats in independent blocks of m (unnormalised).

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
    for (int base = 0; base < n; base += m)
      for (int h = 1; h < m; h <<= 1)
        for (int i = base; i < base + m; i += 2 * h)
          for (int j = i; j < i + h; j++) {
            const float a = x[j], b = x[j + h];
            x[j] = a + b;
            x[j + h] = a - b;
          }
    return;
  }
  for (int i = 0; i < n; i += 8) st(x + i, wht8(ld(x + i)));
  // Pairs (j, j + h) with h < m stay inside their block because blocks start at multiples of m.
  for (int h = 8; h < m; h <<= 1)
    for (int base = 0; base < n; base += 2 * h)
      for (int j = base; j < base + h; j += 8) {
        const v8 a = ld(x + j), b = ld(x + j + h);
        st(x + j, a + b);
        st(x + j + h, a - b);
      }
}

// ---------------------------------------------------------------------------------------------
// tanh on 8 lanes (glibc's scalar tanhf costs more than the whole Walsh–Hadamard step).
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

// ---------------------------------------------------------------------------------------------
// Activations on a row: out[i] = σ(a[i] + z[i]).

inline void activate_row(int act, const float* a, const float* z, const float* bias, float* out, int n) {
  switch (act) {
    case RELU:
      for (int i = 0; i < n; i++) {
        const float v = a[i] + z[i];
        out[i] = v > 0.f ? v : 0.f;
      }
      break;
    case TANH:
      tanh_row(a, z, out, n);
      break;
    case MODRELU:
      for (int i = 0; i < n; i++) {
        const float v = a[i] + z[i];
        const float r = std::fabs(v) + bias[i];
        out[i] = r > 0.f ? (v > 0.f ? r : (v < 0.f ? -r : 0.f)) : 0.f;
      }
      break;
    default:
      for (int i = 0; i < n; i++) out[i] = a[i] + z[i];
  }
}

// δ = (dH + carry) ⊙ σ'(h); dbias += (dH + carry) ⊙ sign(h) for modReLU. Writes δ to d and dz.
inline void delta_row(int act, const float* dh, const float* carry, const float* h, float* d, float* dz, float* dbias, int n) {
  switch (act) {
    case RELU:
      for (int i = 0; i < n; i++) d[i] = h[i] > 0.f ? dh[i] + carry[i] : 0.f;
      break;
    case TANH:
      for (int i = 0; i < n; i++) d[i] = (dh[i] + carry[i]) * (1.f - h[i] * h[i]);
      break;
    case MODRELU:
      for (int i = 0; i < n; i++) {
        const float g = dh[i] + carry[i];
        d[i] = h[i] != 0.f ? g : 0.f;
        dbias[i] += h[i] > 0.f ? g : (h[i] < 0.f ? -g : 0.f);
      }
      break;
    default:
      for (int i = 0; i < n; i++) d[i] = dh[i] + carry[i];
  }
  std::memcpy(dz, d, sizeof(float) * n);
}

struct KronStage;  // kron.h: the p-stage of a Hadamard order p·2^k

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

// ---------------------------------------------------------------------------------------------
// Dense scans: per time step, a register-blocked product over this thread's rows.
//   out[r, c] = Σ_{k<K} in[r, k] · M[k, c]   for c < ncols (a multiple of 16)
// in tiles of MR rows × 16 columns, columns outermost so that a 16-wide strip of M stays in cache
// while every row block passes over it. `store(r, c, acc0, acc1)` consumes each finished tile.
// Strides: `ls` between rows of `in`, `ms` between rows of M.

constexpr int NR = 16;
constexpr int MR = 6;

template <int R, class Store>
inline void tile(const float* in, int ls, int K, const float* M, int ms, int r0, int c, Store& store) {
  v8 acc0[R], acc1[R];
  for (int r = 0; r < R; r++) acc0[r] = acc1[r] = splat(0.f);
  const float* Mc = M + c;
  const float* rows = in + size_t(r0) * ls;
  for (int k = 0; k < K; k++) {
    const v8 w0 = ld(Mc + size_t(k) * ms), w1 = ld(Mc + size_t(k) * ms + 8);
    for (int r = 0; r < R; r++) {
      const v8 x = splat(rows[size_t(r) * ls + k]);
      acc0[r] += x * w0;
      acc1[r] += x * w1;
    }
  }
  for (int r = 0; r < R; r++) store(r0 + r, c, acc0[r], acc1[r]);
}

template <class Store>
void rowsTimesM(const float* in, int rows, int ls, int K, const float* M, int ms, int ncols, Store store) {
  for (int c = 0; c < ncols; c += NR) {
    int r = 0;
    for (; r + MR <= rows; r += MR) tile<MR>(in, ls, K, M, ms, r, c, store);
    switch (rows - r) {
      case 5: tile<5>(in, ls, K, M, ms, r, c, store); break;
      case 4: tile<4>(in, ls, K, M, ms, r, c, store); break;
      case 3: tile<3>(in, ls, K, M, ms, r, c, store); break;
      case 2: tile<2>(in, ls, K, M, ms, r, c, store); break;
      case 1: tile<1>(in, ls, K, M, ms, r, c, store); break;
      default: break;
    }
  }
}

// acc[i, c] += Σ_r D[r, i] · X[r, c] for i < nI, c < ncols (multiple of 16), over `rows` rows.
// Strides: ds (D rows), xs (X rows), as (acc rows).
template <int R>
inline void outerTile(const float* D, int ds, const float* X, int xs, int rows, float* acc, int as, int i0, int c) {
  v8 a0[R], a1[R];
  for (int i = 0; i < R; i++) {
    a0[i] = ld(acc + size_t(i0 + i) * as + c);
    a1[i] = ld(acc + size_t(i0 + i) * as + c + 8);
  }
  for (int r = 0; r < rows; r++) {
    const v8 x0 = ld(X + size_t(r) * xs + c), x1 = ld(X + size_t(r) * xs + c + 8);
    const float* dr = D + size_t(r) * ds + i0;
    for (int i = 0; i < R; i++) {
      const v8 d = splat(dr[i]);
      a0[i] += d * x0;
      a1[i] += d * x1;
    }
  }
  for (int i = 0; i < R; i++) {
    st(acc + size_t(i0 + i) * as + c, a0[i]);
    st(acc + size_t(i0 + i) * as + c + 8, a1[i]);
  }
}

inline void accumulateOuter(const float* D, int ds, int nI, const float* X, int xs, int ncols, int rows, float* acc, int as) {
  for (int c = 0; c < ncols; c += NR) {
    int i = 0;
    for (; i + MR <= nI; i += MR) outerTile<MR>(D, ds, X, xs, rows, acc, as, i, c);
    switch (nI - i) {
      case 5: outerTile<5>(D, ds, X, xs, rows, acc, as, i, c); break;
      case 4: outerTile<4>(D, ds, X, xs, rows, acc, as, i, c); break;
      case 3: outerTile<3>(D, ds, X, xs, rows, acc, as, i, c); break;
      case 2: outerTile<2>(D, ds, X, xs, rows, acc, as, i, c); break;
      case 1: outerTile<1>(D, ds, X, xs, rows, acc, as, i, c); break;
      default: break;
    }
  }
}

inline int padded(int n) { return (n + NR - 1) / NR * NR; }

// M[k, i] = W[i, k] (transposed = true) or W[k, i], zero-padded to [np, np].
inline std::vector<float> padMatrix(const float* W, int n, int np, bool transposed) {
  std::vector<float> M(size_t(np) * np, 0.f);
  for (int k = 0; k < n; k++)
    for (int i = 0; i < n; i++) M[size_t(k) * np + i] = transposed ? W[size_t(i) * n + k] : W[size_t(k) * n + i];
  return M;
}

// ---------------------------------------------------------------------------------------------
// Threads: contiguous row ranges.

template <class F>
void parallelRows(int threads, int B, F body) {
  if (threads <= 1) {
    body(0, 0, B);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int k = 1; k < threads; k++) pool.emplace_back(body, k, B * k / threads, B * (k + 1) / threads);
  body(0, 0, B / threads);
  for (auto& th : pool) th.join();
}

// ---------------------------------------------------------------------------------------------
// Deterministic gradient sums over the batch, independent of the thread count.
//
// The B batch rows fall into min(B, SUM_GROUPS) fixed groups of contiguous rows (fixed by B, not
// by the threads). Each group accumulates its rows' contributions in float for SUM_FLUSH time
// steps, then adds that float block to its own double sum; the result adds the groups' double
// sums in group order. A thread owns whole groups and visits a group's rows in the same order
// whatever the thread count, so every sum is computed the same way: 1, 2 or 8 threads give
// bit-identical gradients, and no float running sum spans more than SUM_FLUSH·B/groups rows.

constexpr int SUM_GROUPS = 8;
constexpr int SUM_FLUSH = 32;

struct GroupSums {
  int groups, B;
  size_t len;
  std::vector<float> f;   // [groups, len] float block sums
  std::vector<double> d;  // [groups, len] double sums
  GroupSums(int B_, size_t len_) : groups(std::min(B_, SUM_GROUPS)), B(B_), len(len_), f(size_t(groups) * len_, 0.f), d(size_t(groups) * len_, 0.0) {}
  int rowBegin(int g) const { return int(int64_t(B) * g / groups); }
  int groupOf(int b) const {
    int g = int(int64_t(b) * groups / B);
    while (g + 1 < groups && rowBegin(g + 1) <= b) g++;
    while (rowBegin(g) > b) g--;
    return g;
  }
  float* acc(int g) { return &f[size_t(g) * len]; }
  void flush(int g) {
    float* a = acc(g);
    double* s = &d[size_t(g) * len];
    for (size_t e = 0; e < len; e++) {
      s[e] += a[e];
      a[e] = 0.f;
    }
  }
  // Σ_g (double sum of group g) at element e, groups in order.
  double total(size_t e) const {
    double s = 0.0;
    for (int g = 0; g < groups; g++) s += d[size_t(g) * len + e];
    return s;
  }
};

// Threads over whole groups: body(thread, g0, g1) for the groups [g0, g1) (rows
// [rowBegin(g0), rowBegin(g1))); at most one thread per group.
template <class F>
void parallelGroups(int threads, const GroupSums& sums, F body) {
  threads = std::max(1, std::min(threads, sums.groups));
  if (threads <= 1) {
    body(0, 0, sums.groups);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (int k = 1; k < threads; k++) pool.emplace_back(body, k, sums.groups * k / threads, sums.groups * (k + 1) / threads);
  body(0, 0, sums.groups / threads);
  for (auto& th : pool) th.join();
}

// ---------------------------------------------------------------------------------------------
// Node-API glue. Every buffer length is checked here too: a wrong length must never become an
// out-of-bounds write.

struct ArgError {
  std::string msg;
};

inline int32_t getInt(napi_env env, napi_value v, const char* name) {
  int32_t out = 0;
  if (napi_get_value_int32(env, v, &out) != napi_ok) throw ArgError{std::string(name) + " must be a number"};
  return out;
}

inline float* getF32(napi_env env, napi_value v, size_t len, const char* name, bool nullable) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (nullable && (type == napi_null || type == napi_undefined)) return nullptr;
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) throw ArgError{std::string(name) + " must be a Float32Array"};
  napi_typedarray_type ttype;
  size_t length = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, v, &ttype, &length, &data, nullptr, nullptr);
  if (ttype != napi_float32_array) throw ArgError{std::string(name) + " must be a Float32Array"};
  if (length != len)
    throw ArgError{std::string(name) + " has " + std::to_string(length) + " values, expected " + std::to_string(len)};
  return static_cast<float*>(data);
}

inline void parseProblem(napi_env env, napi_value* a, Problem& p, int& threads) {
  p.kind = getInt(env, a[0], "kind");
  p.act = getInt(env, a[1], "activation");
  p.T = getInt(env, a[2], "T");
  p.B = getInt(env, a[3], "B");
  p.n = getInt(env, a[4], "n");
  p.m = getInt(env, a[5], "blockSize");
  threads = getInt(env, a[6], "threads");
  if (p.kind != DENSE && p.kind != HADAMARD) throw ArgError{"kind must be 0 (dense) or 1 (hadamard)"};
  if (p.act < 0 || p.act > 3) throw ArgError{"activation code must be 0..3"};
  if (p.T < 1 || p.B < 1 || p.n < 1) throw ArgError{"T, B and n must be positive"};
  if (p.kind == HADAMARD && (p.m < 1 || p.n % p.m)) throw ArgError{"blockSize must divide n"};  // its order: parseKron
}


// An Int32Array of `len` class indices, each in [0, m).
// An Int32Array of `len` values, each in [0, m); `name` and `what` name it in the messages.
inline const int32_t* getIndices(napi_env env, napi_value v, size_t len, int m, const std::string& name, const std::string& what = "index") {
  bool isTyped = false;
  napi_is_typedarray(env, v, &isTyped);
  if (!isTyped) throw ArgError{name + " must be an Int32Array"};
  napi_typedarray_type ttype;
  size_t length = 0;
  void* data = nullptr;
  napi_get_typedarray_info(env, v, &ttype, &length, &data, nullptr, nullptr);
  if (ttype != napi_int32_array) throw ArgError{name + " must be an Int32Array"};
  if (length != len) throw ArgError{name + " has " + std::to_string(length) + " values, expected " + std::to_string(len)};
  const int32_t* t = static_cast<const int32_t*>(data);
  for (size_t r = 0; r < len; r++)
    if (t[r] < 0 || t[r] >= m) throw ArgError{what + " " + std::to_string(t[r]) + " at row " + std::to_string(r) + " is outside [0, " + std::to_string(m) + ")"};
  return t;
}

inline const int32_t* getTargets(napi_env env, napi_value v, size_t len, int m) { return getIndices(env, v, len, m, "targets", "target"); }

}  // namespace oq
