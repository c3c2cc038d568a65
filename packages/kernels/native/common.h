// The native kernels' toolkit in one include, split by concern:
//   simd.h        8-lane float/int32 vectors, vectorised exp and tanh
//   wht.h         the fast Walsh–Hadamard transform (float and int32), the one copy
//   recurrence.h  σ and the BPTT δ of the recurrences, row by row
//   matmul.h      register-blocked dense products (rows × matrix, outer-product sums)
//   parallel.h    threads over the batch and the thread-count-independent gradient sums
//   binding.h     the Node-API argument reader (Args) and the export description (Export)
// Hadamard orders p·2^k are kron.h; every op's binding is listed in binding.cc.
#pragma once

#include "binding.h"
#include "matmul.h"
#include "parallel.h"
#include "recurrence.h"
#include "simd.h"
#include "wht.h"
