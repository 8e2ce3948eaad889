// CPU reference of ops::fma_peak (engine/ops/fma_peak.cpp): the sum its chains reach with
// a = b = 1, where every update is exact.
#include "fma_peak_contract.h"
#include "vkfuse/reference.hpp"

namespace vkfuse::ref {

void fma_peak(float* out, int64_t n, uint32_t steps) {
  const double updates = double(steps) * shader::FMA_PEAK_UNROLL;
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (uint32_t c = 0; c < shader::FMA_PEAK_CHAINS; ++c) sum += 4 * (double(i % 64 + c) + updates);
    out[i] = static_cast<float>(sum);
  }
}

}  // namespace vkfuse::ref
