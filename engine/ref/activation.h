#pragma once
// The activations in double, shared by the elementwise references and the matmul epilogue's.
#include <cmath>

namespace vkfuse::ref::detail {

inline double gelu_exact(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }  // erf form
inline double sigmoid_exact(double x) { return 1.0 / (1.0 + std::exp(-x)); }

}  // namespace vkfuse::ref::detail
