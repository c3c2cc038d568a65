// Hadamard orders that are not powers of two (native/kron.cc): m = p·q, q = 2^k, with
// H_m = H_p ⊗ H_q for a ±1 Hadamard matrix H_p of order p (Paley 12, 20, 28, …). The recurrent
// transform of one row, per block of m, is the fast Walsh–Hadamard transform of each q-slice
// followed by the p × p ±1 stage across slices (additions and subtractions of whole slices):
//   x ← (I_{n/m} ⊗ H_p ⊗ H_q) x        (or with H_pᵀ: Paley matrices are not symmetric)
// Same math as src/scan-kron.ts. Every Hadamard kernel (scan.cc, reversible.cc, fused-step.cc)
// applies its transform through `rec_row`, which is the plain fast WHT when there is no p-stage.
#pragma once

#include <cstdint>
#include <vector>

#include "binding.h"
#include "wht.h"

namespace oq {

// The p-stage of a Kronecker Hadamard order; p = 1 (hp empty): a power of two, no p-stage.
// Output slice a = Σ_b H[a, b]·slice_b is computed as S − 2·Σ_{H[a,b] = −1} slice_b (or
// 2·Σ_{H[a,b] = +1} slice_b − S when the row has fewer +1s), S = the sum of all slices: at most
// p/2 slice additions per output slice after the p of S, instead of p.
struct KronStage {
  int p = 1, q = 1, m = 1;
  std::vector<int8_t> hp, hpT;  // H_p and H_pᵀ, row-major ±1 [p·p]
  // For H (t = 0) and Hᵀ (t = 1): row a's minority slices minor[t][start[t][a] .. start[t][a+1]),
  // and whether they are its −1 entries (out = S − 2Σ) or its +1 entries (out = 2Σ − S).
  std::vector<int> minor[2], start[2];
  std::vector<int8_t> minorIsMinus[2];
};

// x[0, n) ← (I_{n/m} ⊗ H ⊗ H_q) x with H = H_p, or H_pᵀ when `transpose` (unnormalised).
void kron_row(const KronStage& k, float* x, int n, bool transpose);

// The recurrent Hadamard transform of one row: kron_row when `k` has a p-stage, else the fast
// WHT in blocks of m. Forward (and ds) use H_m, the backward carry and rebuilt states H_mᵀ.
inline void rec_row(const KronStage* k, float* x, int n, int m, bool transpose) {
  if (k && k->p > 1) kron_row(*k, x, n, transpose);
  else fwht_row(x, n, m);
}

// The trailing (p, hp|null) arguments of a Hadamard call with block size m dividing n: p = 1 and
// hp null for m = 2^k, else hp an Int8Array of p·p entries ±1 and m = p·2^k. Checks the order.
KronStage parseKron(napi_env env, napi_value pv, napi_value hpv, int n, int m);

}  // namespace oq
