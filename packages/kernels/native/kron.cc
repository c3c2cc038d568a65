// The p-stage of Hadamard orders m = p·2^k that are not powers of two (see kron.h): the p × p
// ±1 transform across the p slices of q = 2^k entries of each block, after the fast
// Walsh–Hadamard transform of every slice. Additions and subtractions of whole slices only
// (8-lane vectors when q ≥ 8); O(m·(p + log₂ q)) per block instead of m².
#include "kron.h"

namespace oq {
namespace {

// x[0, m) ← (H ⊗ I_q) x, H row-major ±1 [p·p]; tmp holds m floats. Output slice a is
// Σ_b H[a, b]·slice_b, accumulated in b order from the first term (negation is exact).
void pstage_block(const int8_t* H, int p, int q, float* x, float* tmp) {
  std::memcpy(tmp, x, sizeof(float) * size_t(p) * q);
  for (int a = 0; a < p; a++) {
    const int8_t* row = H + size_t(a) * p;
    float* out = x + size_t(a) * q;
    if (q >= 8) {
      for (int j = 0; j < q; j += 8) {
        v8 acc = ld(tmp + j);
        if (row[0] < 0) acc = -acc;
        for (int b = 1; b < p; b++) {
          const v8 v = ld(tmp + size_t(b) * q + j);
          acc = row[b] > 0 ? acc + v : acc - v;
        }
        st(out + j, acc);
      }
    } else {
      for (int j = 0; j < q; j++) {
        float acc = row[0] > 0 ? tmp[j] : -tmp[j];
        for (int b = 1; b < p; b++) {
          const float v = tmp[size_t(b) * q + j];
          acc = row[b] > 0 ? acc + v : acc - v;
        }
        out[j] = acc;
      }
    }
  }
}

}  // namespace

void kron_row(const KronStage& k, float* x, int n, bool transpose) {
  // One scratch block per thread (the scans' threads each run whole rows).
  thread_local std::vector<float> tmp;
  if (tmp.size() < size_t(k.m)) tmp.resize(k.m);
  fwht_row(x, n, k.q);
  const int8_t* H = transpose ? k.hpT.data() : k.hp.data();
  for (int base = 0; base < n; base += k.m) pstage_block(H, k.p, k.q, x + base, tmp.data());
}

KronStage parseKron(napi_env env, napi_value pv, napi_value hpv, int n, int m) {
  KronStage k;
  k.p = getInt(env, pv, "p");
  if (k.p < 1) throw ArgError{"p must be a positive integer"};
  if (m < 1 || n % m) throw ArgError{"blockSize must divide n"};
  if (m % k.p || ((m / k.p) & (m / k.p - 1)))
    throw ArgError{"blockSize " + std::to_string(m) + " must be p·2^k with p = " + std::to_string(k.p)};
  k.q = m / k.p;
  k.m = m;
  napi_valuetype type;
  napi_typeof(env, hpv, &type);
  const bool none = type == napi_null || type == napi_undefined;
  if (k.p == 1) {
    if (!none) throw ArgError{"hp must be null when p = 1"};
    return k;
  }
  if (none) throw ArgError{"hp (H_p, an Int8Array of p·p entries) is required when p > 1"};
  bool isTyped = false;
  napi_is_typedarray(env, hpv, &isTyped);
  napi_typedarray_type ttype = napi_int8_array;
  size_t length = 0;
  void* data = nullptr;
  if (isTyped) napi_get_typedarray_info(env, hpv, &ttype, &length, &data, nullptr, nullptr);
  if (!isTyped || ttype != napi_int8_array) throw ArgError{"hp must be an Int8Array"};
  const size_t pp = size_t(k.p) * k.p;
  if (length != pp) throw ArgError{"hp has " + std::to_string(length) + " values, expected p·p = " + std::to_string(pp)};
  const int8_t* h = static_cast<const int8_t*>(data);
  k.hp.assign(h, h + pp);
  k.hpT.resize(pp);
  for (int a = 0; a < k.p; a++)
    for (int b = 0; b < k.p; b++) {
      const int8_t v = h[size_t(a) * k.p + b];
      if (v != 1 && v != -1) throw ArgError{"hp[" + std::to_string(a * k.p + b) + "] = " + std::to_string(v) + ", expected ±1"};
      k.hpT[size_t(b) * k.p + a] = v;
    }
  return k;
}

}  // namespace oq
