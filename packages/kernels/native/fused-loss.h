// What the fused training losses (fused-step.cc: HadamRNN and dense RNNs; lstm-loss.cc: the LSTM)
// share at their binding: the loss's shape and flags, the inputs x (float rows or row indices
// into the input weights), the readout V, c with its targets, and the mean's denominator — the
// native side of src/fused-loss.ts. Each op reads its own arguments between these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "binding.h"

namespace oq {

// Bits of the `flags` argument every fused loss has (an op's own bits come above them).
constexpr int LOSS_RELU = 1, LOSS_LAST = 2, LOSS_INDEX = 4;

struct FusedLoss {
  int T, B, n, k, classes, relu, lastOnly;
  const float* x;          // [T, B, k], or null with xi
  const int32_t* xi;       // [T, B] row indices into the input weights, or null
  const float* V;          // [n, classes]
  const float* c;          // [classes]
  const int32_t* targets;  // [T, B], or [B] (lastOnly)
  // Whether step t has a readout, and the target of (t, b).
  bool readsOut(int t) const { return !lastOnly || t == T - 1; }
  int target(int t, int b) const { return lastOnly ? targets[b] : targets[size_t(t) * B + b]; }
  // The loss is the mean over the rows read out: of the groups' sums (in group order).
  double rowsReadOut() const { return lastOnly ? double(B) : double(T) * B; }
  double mean(const std::vector<double>& groupSums) const {
    double total = 0.0;
    for (double v : groupSums) total += v;
    return total / rowsReadOut();
  }
};

// T, B and n: the first three arguments of every fused loss.
inline void readLossSizes(const Args& a, FusedLoss& p) {
  p.T = a.i32(0, "T");
  p.B = a.i32(1, "B");
  p.n = a.i32(2, "n");
}

// k, classes and flags at at, at + 1, at + 2; relu and lastOnly from the flags (returned whole).
inline int readLossFlags(const Args& a, int at, FusedLoss& p) {
  p.k = a.i32(at, "k");
  p.classes = a.i32(at + 1, "classes");
  const int flags = a.i32(at + 2, "flags");
  p.relu = (flags & LOSS_RELU) != 0;
  p.lastOnly = (flags & LOSS_LAST) != 0;
  return flags;
}

inline void checkLossSizes(const FusedLoss& p) {
  if (p.T < 1 || p.B < 1 || p.n < 1 || p.k < 1 || p.classes < 1) throw ArgError{"T, B, n, k and classes must be positive"};
}

// x at `at`: float rows [T·B·k], or with LOSS_INDEX row indices [T·B] in [0, k) (named `indexName`).
inline void readLossInputs(const Args& a, int at, int flags, const char* indexName, FusedLoss& p) {
  const size_t TB = size_t(p.T) * p.B;
  if (flags & LOSS_INDEX) {
    p.x = nullptr;
    p.xi = a.indices(at, TB, p.k, indexName, "input index");
  } else {
    p.x = a.f32(at, TB * p.k, "x");
    p.xi = nullptr;
  }
}

// V [n, classes], c [classes] and the targets ([B] with lastOnly, else [T·B]) at at, at + 1, at + 2.
inline void readLossReadout(const Args& a, int at, FusedLoss& p) {
  p.V = a.f32(at, size_t(p.n) * p.classes, "V");
  p.c = a.f32(at + 1, p.classes, "c");
  p.targets = a.targets(at + 2, p.lastOnly ? size_t(p.B) : size_t(p.T) * p.B, p.classes);
}

}  // namespace oq
