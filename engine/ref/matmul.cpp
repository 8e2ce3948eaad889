// CPU reference of ops::matmul (engine/ops/matmul.cpp): the epilogue in the shader's order,
// bias, activation, residual.
#include "ref/activation.h"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void matmul(const float* a, const float* b, float* c, int64_t batch, int64_t m, int64_t n,
            int64_t k, const ops::MatmulOptions& o, const float* bias, bool b_broadcast, const float* residual) {
  for (int64_t z = 0; z < batch; ++z) {
    const float* az = a + z * m * k;
    const float* bz = b + (b_broadcast ? 0 : z * k * n);
    float* cz = c + z * m * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t kk = 0; kk < k; ++kk)
          acc += static_cast<double>(az[i * k + kk]) * (o.trans_b ? bz[j * k + kk] : bz[kk * n + j]);
        double v = o.alpha * acc + (bias ? bias[j] : 0.0);
        float r = o.act == ops::Activation::None ? static_cast<float>(v) : activate(o.act, v, o.act_alpha, o.act_beta);
        cz[i * n + j] = residual ? r + residual[z * m * n + i * n + j] : r;
      }
  }
}

}  // namespace vkfuse::ref
