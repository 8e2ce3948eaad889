// CPU reference of ops::top_k (engine/ops/top_k.cpp): a stable sort by the same order.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void top_k(const float* x, int64_t rows, int64_t n, int64_t k, float* values, int32_t* indices) {
  if (k < 1 || k > n) throw Error("ref::top_k: k = " + std::to_string(k) + " outside 1.." + std::to_string(n));
  std::vector<int32_t> order(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * n;
    std::iota(order.begin(), order.end(), 0);
    // Larger first, NaN after every number, ties by index (stable).
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      const bool na = std::isnan(row[a]), nb = std::isnan(row[b]);
      if (na != nb) return nb;
      return !na && row[a] > row[b];
    });
    for (int64_t i = 0; i < k; ++i) {
      values[r * k + i] = row[order[i]];
      indices[r * k + i] = order[i];
    }
  }
}

}  // namespace vkfuse::ref
