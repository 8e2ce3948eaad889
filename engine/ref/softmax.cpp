// CPU reference of ops::softmax (engine/ops/softmax.cpp), in double.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void softmax(const float* x, float* y, int64_t rows, int64_t n, float scale, const float* mask,
             int64_t mask_rows, bool log) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      v[i] = static_cast<double>(scale) * x[r * n + i] + (mask ? mask[(r % mask_rows) * n + i] : 0.f);
      mx = std::max(mx, v[i]);
    }
    if (std::any_of(v.begin(), v.end(), [](double e) { return std::isnan(e); })) {
      for (int64_t i = 0; i < n; ++i) y[r * n + i] = std::numeric_limits<float>::quiet_NaN();  // as PyTorch
      continue;
    }
    if (std::isinf(mx) && mx < 0) {
      for (int64_t i = 0; i < n; ++i) y[r * n + i] = 0.f;
      continue;
    }
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(v[i] - mx);
    for (int64_t i = 0; i < n; ++i)
      y[r * n + i] = static_cast<float>(log ? v[i] - mx - std::log(sum) : std::exp(v[i] - mx) / sum);
  }
}

}  // namespace vkfuse::ref
