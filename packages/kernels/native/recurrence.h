// The recurrences' element-wise row operations: σ (activate_row) and the δ of BPTT through σ
// (delta_row), shared by the scans (scan.cc) and anything else that runs a σ-recurrence.
#pragma once

#include "simd.h"

namespace oq {

enum Act { LINEAR = 0, RELU = 1, TANH = 2, MODRELU = 3 };
enum Kind { DENSE = 0, HADAMARD = 1 };

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

}  // namespace oq
