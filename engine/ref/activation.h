#pragma once
// The activations in double, shared by the elementwise references and the matmul epilogue's.
#include <cmath>

namespace vkfuse::ref::detail {

inline double gelu_exact(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }  // erf form
inline double sigmoid_exact(double x) { return 1.0 / (1.0 + std::exp(-x)); }
inline double quick_gelu_exact(double x) { return x * sigmoid_exact(1.702 * x); }
inline double gelu_tanh_exact(double x) {
  return 0.5 * x * (1.0 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

}  // namespace vkfuse::ref::detail
