// CPU reference of ops::l2_normalize (engine/ops/l2_normalize.cpp): the norm in double.
#include <algorithm>
#include <cmath>

#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void l2_normalize(const float* x, float* y, int64_t rows, int64_t n, float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(x[r * n + i]) * x[r * n + i];
    const double inv = 1.0 / std::max(std::sqrt(ss), static_cast<double>(eps));
    for (int64_t i = 0; i < n; ++i) y[r * n + i] = static_cast<float>(x[r * n + i] * inv);
  }
}

}  // namespace vkfuse::ref
