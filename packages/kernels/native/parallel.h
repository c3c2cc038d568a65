// Threads over the batch, and the deterministic gradient sums that make every kernel's result
// independent of the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace oq {

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

}  // namespace oq
