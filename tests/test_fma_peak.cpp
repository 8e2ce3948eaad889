// fma_peak (the benches' arithmetic ceiling) on the GPU against vkfuse::ref::fma_peak: exact,
// since with a = b = 1 every chain update is an exact fp32 integer step. A wrong count of
// loop steps (lavapipe's loop limiter, a dropped unroll) changes every output.
#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

class FmaPeak : public vkt::GpuTestP<Mode> {};

TEST_P(FmaPeak, ChainsSumToTheReference) {
  auto& ctx = vkt::context(GetParam());
  for (auto [n, s_] : {std::pair<int64_t, uint32_t>{1, 1}, {1000, 37}, {300, 49136}}) {
    const uint32_t steps = s_;  // C++17 lambdas cannot capture a structured binding (clang refuses)
    Tensor out = ctx.tensor({n});
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::fma_peak(s, out, steps); });
    std::vector<float> want(static_cast<size_t>(n));
    vkfuse::ref::fma_peak(want.data(), n, steps);
    EXPECT_EQ(out.read(), want) << n << " invocations, " << steps << " steps";
  }
  EXPECT_DOUBLE_EQ(vkfuse::ops::fma_peak_flops(10, 3), 2.0 * 4 * 2 * 8 * 3 * 10);  // 2 vec4 chains, unrolled 8 times
}

TEST_P(FmaPeak, StepsBeyondTheLoopBudgetAreRefused) {
  auto& ctx = vkt::context(GetParam());
  Tensor out = ctx.tensor({4});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::fma_peak(s, out, 0), vkfuse::Error);
  EXPECT_THROW(vkfuse::ops::fma_peak(s, out, 60000), vkfuse::Error);
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Kernel, FmaPeak, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });
