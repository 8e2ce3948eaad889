// softmax on the GPU against vkfuse::ref::softmax.
//
// Tolerance: outputs lie in [0, 1]. Vulkan's exp is accurate to 3 + 2·|x| ulp; after the max
// is subtracted, |x| stays below ~20 for these inputs, so each term is within ~45 ulp and the
// fp32 sum of n terms adds n·u relative: 2e-5 relative + 1e-7 absolute covers both for n up
// to 70,000 (the long-row test uses 1e-2·n·u).
#include <limits>

#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

struct Case {
  int64_t rows, n;
  bool mask = false;
  float scale = 1.f;
};

void check(vkfuse::Context& ctx, const Case& c, float rtol = 2e-5f) {
  auto x = vkt::random_vec(c.rows * c.n, 31, -4.f, 4.f);
  const int64_t mrows = std::min<int64_t>(c.rows, 3);
  auto mask = vkt::random_vec(mrows * c.n, 32, -2.f, 2.f);
  Tensor tx = ctx.tensor({c.rows, c.n}, x), ty = ctx.tensor({c.rows, c.n});
  Tensor tm = ctx.tensor({mrows, c.n}, mask);
  vkfuse::ops::SoftmaxOptions o;
  o.scale = c.scale;
  if (c.mask) o.mask = &tm;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::softmax(s, tx, ty, o); });
  std::vector<float> want(x.size());
  vkfuse::ref::softmax(x.data(), want.data(), c.rows, c.n, c.scale, c.mask ? mask.data() : nullptr, mrows);
  EXPECT_TRUE(vkt::near_all(ty.read(), want, 1e-7f, rtol))
      << c.rows << "x" << c.n << " tuning " << vkfuse::to_string(ctx.tuning());
}

class Softmax : public vkt::GpuTestP<Mode> {};

TEST_P(Softmax, Sizes) {
  auto& ctx = vkt::context(GetParam());
  for (Case c : {Case{1, 1}, Case{1, 2}, Case{3, 7}, Case{5, 31, true}, Case{8 * 197, 197, false, 0.125f},
                 Case{13, 257, true, 0.3f}, Case{2, 1000}, Case{64, 1031, true}})
    check(ctx, c);
}

// Each row-reduction layout: one invocation per row, several per row, a workgroup per row,
// with and without subgroup operations where the device has them.
TEST_P(Softmax, ReductionLayouts) {
  auto& ctx = vkt::context(GetParam());
  uint32_t wg = std::min<uint32_t>(64, ctx.caps().max_workgroup_invocations);
  for (uint32_t tpr : {1u, 4u, wg}) {
    for (bool sg : {false, true}) {
      if (sg && !ctx.caps().subgroup_arithmetic) continue;
      ctx.tuning().softmax = {wg, tpr};
      ctx.tuning().use_subgroups = sg;
      check(ctx, {37, 197, true, 0.125f});
      check(ctx, {3, 5});
    }
  }
}

TEST_P(Softmax, FullyMaskedRowsGiveZeros) {
  auto& ctx = vkt::context(GetParam());
  const float inf = std::numeric_limits<float>::infinity();
  const int64_t n = 6;
  std::vector<float> x = vkt::random_vec(3 * n, 33);
  std::vector<float> mask = {-inf, -inf, -inf, -inf, -inf, -inf,  // row 0: all masked
                             0, -inf, 0, -inf, 0, -inf,         // row 1: half
                             0, 0, 0, 0, 0, 0};
  Tensor tx = ctx.tensor({3, n}, x), ty = ctx.tensor({3, n}), tm = ctx.tensor({3, n}, mask);
  vkfuse::ops::SoftmaxOptions o;
  o.mask = &tm;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::softmax(s, tx, ty, o); });
  auto y = ty.read();
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(y[i], 0.f) << i;
  for (int64_t i = 1; i < n; i += 2) EXPECT_EQ(y[n + i], 0.f);
  std::vector<float> want(x.size());
  vkfuse::ref::softmax(x.data(), want.data(), 3, n, 1.f, mask.data(), 3);
  EXPECT_TRUE(vkt::near_all(y, want, 1e-7f, 2e-5f));
  for (float v : y) EXPECT_FALSE(std::isnan(v));
}

// A NaN logit makes its row NaN, as PyTorch's softmax does (GLSL's max() may drop a NaN:
// the kernels use max_nan), including a row of NaN only, which must not pass for a fully
// masked row of zeros. Long rows take the multi-invocation reduction; short ones one
// invocation (texel loads on lavapipe).
TEST_P(Softmax, NaNRowsStayNaN) {
  auto& ctx = vkt::context(GetParam());
  for (int64_t n : {int64_t(6), int64_t(3000)}) {
    std::vector<float> x = vkt::random_vec(3 * n, 34);
    x[1] = std::nanf("");                                             // row 0: one NaN
    for (int64_t i = 0; i < n; ++i) x[2 * n + i] = std::nanf("");  // row 2: only NaN
    Tensor tx = ctx.tensor({3, n}, x), ty = ctx.tensor({3, n});
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::softmax(s, tx, ty); });
    auto y = ty.read();
    std::vector<float> want(x.size());
    vkfuse::ref::softmax(x.data(), want.data(), 3, n, 1.f, nullptr, 1);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_TRUE(std::isnan(y[i]) && std::isnan(want[i])) << "n " << n << " row 0 col " << i;
      EXPECT_TRUE(std::isnan(y[2 * n + i]) && std::isnan(want[2 * n + i])) << "n " << n << " row 2 col " << i;
      EXPECT_NEAR(y[n + i], want[n + i], 2e-6f) << "n " << n << " row 1 col " << i;
    }
  }
}

// lavapipe stops an invocation's loops after 65,535 back-edges in all: one invocation per
// row over 70,000 elements (3 passes) would lose the row's tail. The op gives such rows more
// invocations; a row too long even for the whole workgroup is an error, not a wrong answer.
TEST_P(Softmax, RowLongerThan65535Iterations) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().softmax = {8, 1};
  check(ctx, {2, 70000}, 1e-2f * 70000 * vkt::kEps + 2e-5f);
  Tensor x = ctx.tensor({1, 200000}), y = ctx.tensor({1, 200000});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::softmax(s, x, y), vkfuse::Error);
}

INSTANTIATE_TEST_SUITE_P(Kernel, Softmax, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
