// The p-stage of Hadamard orders m = p·2^k that are not powers of two (see kron.h): the p × p
// ±1 transform across the p slices of q = 2^k entries of each block, after the fast
// Walsh–Hadamard transform of every slice. Additions and subtractions of whole slices only
// (8-lane vectors when q ≥ 8); O(m·(p/2 + log₂ q)) per block instead of m².
#include "kron.h"

#include <cstring>

namespace oq {
namespace {

// x[0, m) ← (H ⊗ I_q) x through the minority lists of H (KronStage, t = 0: H_p, 1: H_pᵀ); tmp
// holds m floats. Additions and subtractions only (2v as v + v).
void pstage_block(const KronStage& k, int t, float* x, float* tmp) {
  const int p = k.p, q = k.q;
  std::memcpy(tmp, x, sizeof(float) * size_t(p) * q);
  const int* minor = k.minor[t].data();
  const int* start = k.start[t].data();
  const int8_t* isMinus = k.minorIsMinus[t].data();
  if (q >= 8) {
    for (int j = 0; j < q; j += 8) {
      v8 S = ld(tmp + j);
      for (int b = 1; b < p; b++) S += ld(tmp + size_t(b) * q + j);
      for (int a = 0; a < p; a++) {
        v8 acc = splat(0.f);
        for (int e = start[a]; e < start[a + 1]; e++) acc += ld(tmp + size_t(minor[e]) * q + j);
        st(x + size_t(a) * q + j, isMinus[a] ? S - (acc + acc) : (acc + acc) - S);
      }
    }
  } else {
    for (int j = 0; j < q; j++) {
      float S = tmp[j];
      for (int b = 1; b < p; b++) S += tmp[size_t(b) * q + j];
      for (int a = 0; a < p; a++) {
        float acc = 0.f;
        for (int e = start[a]; e < start[a + 1]; e++) acc += tmp[size_t(minor[e]) * q + j];
        x[size_t(a) * q + j] = isMinus[a] ? S - (acc + acc) : (acc + acc) - S;
      }
    }
  }
}

// The minority lists of H (row-major ±1, p × p) into k.minor[t], k.start[t], k.minorIsMinus[t].
void minorityLists(KronStage& k, int t, const int8_t* H) {
  const int p = k.p;
  k.start[t].assign(1, 0);
  k.minor[t].clear();
  k.minorIsMinus[t].clear();
  for (int a = 0; a < p; a++) {
    int minus = 0;
    for (int b = 0; b < p; b++) minus += H[size_t(a) * p + b] < 0;
    const bool useMinus = 2 * minus <= p;
    for (int b = 0; b < p; b++)
      if ((H[size_t(a) * p + b] < 0) == useMinus) k.minor[t].push_back(b);
    k.start[t].push_back(int(k.minor[t].size()));
    k.minorIsMinus[t].push_back(useMinus ? 1 : 0);
  }
}

}  // namespace

void kron_row(const KronStage& k, float* x, int n, bool transpose) {
  // One scratch block per thread (the scans' threads each run whole rows).
  thread_local std::vector<float> tmp;
  if (tmp.size() < size_t(k.m)) tmp.resize(k.m);
  fwht_row(x, n, k.q);
  for (int base = 0; base < n; base += k.m) pstage_block(k, transpose ? 1 : 0, x + base, tmp.data());
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
  const bool none = isNullish(env, hpv);
  if (k.p == 1) {
    if (!none) throw ArgError{"hp must be null when p = 1"};
    return k;
  }
  if (none) throw ArgError{"hp (H_p, an Int8Array of p·p entries) is required when p > 1"};
  size_t length = 0;
  const void* data = getTypedArray(env, hpv, napi_int8_array, "hp", "an Int8Array", length);
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
  minorityLists(k, 0, k.hp.data());
  minorityLists(k, 1, k.hpT.data());
  return k;
}

}  // namespace oq
