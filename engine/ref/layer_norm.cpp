// CPU reference of ops::layer_norm (engine/ops/layer_norm.cpp): mean and variance in double.
#include <cmath>

#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void layer_norm(const float* x, const float* residual, float* y, int64_t rows, int64_t n, float eps,
                const float* weight, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) {
    auto v = [&](int64_t i) {
      return static_cast<double>(x[r * n + i]) + (residual ? residual[r * n + i] : 0.f);
    };
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; ++i) mean += v(i);
    mean /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) var += (v(i) - mean) * (v(i) - mean);
    var /= static_cast<double>(n);
    double rstd = 1.0 / std::sqrt(var + eps);
    for (int64_t i = 0; i < n; ++i) {
      double o = (v(i) - mean) * rstd;
      if (weight) o *= weight[i];
      if (bias) o += bias[i];
      y[r * n + i] = static_cast<float>(o);
    }
  }
}

}  // namespace vkfuse::ref
