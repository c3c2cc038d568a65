// The fast Walsh–Hadamard transform of one row in independent blocks of m (unnormalised), the one
// place it is written: float (the recurrences and the float inference) and int32 (the integer
// engine: adds and subtracts only, wrapping modulo 2^32). Orders p·2^k that are not powers of two
// add kron.h's p-stage after it.
#pragma once

#include "simd.h"

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

// The butterflies of the strides 8 ≤ h < m, in vectors V of 8 lanes of T (the strides below 8
// are done inside each vector). Pairs (j, j + h) with h < m stay inside their block because
// blocks start at multiples of m.
template <class V, class T>
inline void butterflies8(T* x, int n, int m) {
  for (int h = 8; h < m; h <<= 1)
    for (int base = 0; base < n; base += 2 * h)
      for (int j = base; j < base + h; j += 8) {
        const V a = vload<V>(x + j), b = vload<V>(x + j + h);
        vstore(x + j, a + b);
        vstore(x + j + h, a - b);
      }
}

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
// Integer: adds and subtracts, wrapping modulo 2^32 (uint32 lanes in the scalar path, int32
// vectors wrap under GCC/Clang semantics).

// The 8-point transform inside one vector, strides 1, 2, 4: v = even-partner + ±odd-partner,
// the ± by (x ^ m) − m with m = 0 or −1 per lane. Single-source shuffles only (two-source int
// shuffles have no SSE2 instruction and would be scalarised in the baseline build).
inline v8i iwht8(v8i v) {
  const v8i m1 = {0, -1, 0, -1, 0, -1, 0, -1}, m2 = {0, 0, -1, -1, 0, 0, -1, -1}, m4 = {0, 0, 0, 0, -1, -1, -1, -1};
  v = SHUF(v, 0, 0, 2, 2, 4, 4, 6, 6) + ((SHUF(v, 1, 1, 3, 3, 5, 5, 7, 7) ^ m1) - m1);
  v = SHUF(v, 0, 1, 0, 1, 4, 5, 4, 5) + ((SHUF(v, 2, 3, 2, 3, 6, 7, 6, 7) ^ m2) - m2);
  return SHUF(v, 0, 1, 2, 3, 0, 1, 2, 3) + ((SHUF(v, 4, 5, 6, 7, 4, 5, 6, 7) ^ m4) - m4);
}

inline void iwht_row(int32_t* x, int n, int m) {
  if (m < 8) {
    butterflies(reinterpret_cast<uint32_t*>(x), n, m);
    return;
  }
  for (int i = 0; i < n; i += 8) sti(x + i, iwht8(ldi(x + i)));
  butterflies8<v8i>(x, n, m);
}

}  // namespace oq
