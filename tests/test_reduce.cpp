// ops::reduce on the GPU against ref::reduce: every reduction over leading, trailing and
// inner axes (permuted last as the graph layer does), arg-reductions with ties, and a long
// reduction.
//
// Tolerance: a sum of n fp32 terms in [-1, 1] is within n·u·Σ|x| of the exact one, the
// products and logs of the same order relative: 4·n·eps relative plus 1e-6 absolute.
#include <numeric>

#include "array_test.hpp"

using vkfuse::Tensor;
using vkfuse::ops::Reduce;
using vkfuse::ref::Array;
using vkt::Mode;

namespace {

// Reduces `axes` (sorted) of x: the GPU reads x permuted with them last.
void check(vkfuse::Context& ctx, const Array& x, const std::vector<int64_t>& axes, Reduce op, bool last = false) {
  std::vector<int> perm;
  for (int d = 0; d < int(x.shape.size()); ++d)
    if (std::find(axes.begin(), axes.end(), d) == axes.end()) perm.push_back(d);
  for (int64_t a : axes) perm.push_back(int(a));
  Tensor tx = vkt::upload(ctx, x);
  const Array want = vkfuse::ref::reduce(x, axes, op, last);
  const bool arg = op == Reduce::ArgMax || op == Reduce::ArgMin;
  Tensor ty = ctx.tensor(want.shape, arg ? vkfuse::DType::I32 : vkfuse::DType::F32);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::reduce(s, tx.permute(perm), ty, op, int(axes.size()), last); });
  int64_t n = 1;
  for (int64_t a : axes) n *= x.shape[size_t(a)];
  EXPECT_TRUE(vkt::near_array(vkt::download(ty), want, 1e-6f, 4.f * float(n) * vkt::kEps))
      << int(op) << " over " << axes.size() << " axes of " << vkfuse::shape_string(x.shape);
}

class ReduceK : public vkt::GpuTestP<Mode> {};

TEST_P(ReduceK, EveryOpAndAxes) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({3, 4, 5, 6}, 41, 0.5f, 1.5f);
  for (Reduce op : {Reduce::Sum, Reduce::Mean, Reduce::Max, Reduce::Min, Reduce::Prod, Reduce::L1, Reduce::L2,
                    Reduce::SumSquare, Reduce::LogSum, Reduce::LogSumExp, Reduce::ArgMax, Reduce::ArgMin})
    for (const std::vector<int64_t>& axes : std::vector<std::vector<int64_t>>{{3}, {0}, {1, 2}, {0, 1, 2, 3}})
      check(ctx, x, axes, op);
}

TEST_P(ReduceK, ArgTiesFirstOrLast) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_ints({4, 9}, 42, 0, 2);
  Array xf = Array::floats(x.shape, std::vector<float>(x.i.begin(), x.i.end()));
  for (bool last : {false, true}) {
    check(ctx, xf, {1}, Reduce::ArgMax, last);
    check(ctx, xf, {0}, Reduce::ArgMin, last);
  }
}

// 300,000 elements in one row: beyond one invocation's 65,535-iteration loop.
TEST_P(ReduceK, LongRow) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({2, 300000}, 43);
  check(ctx, x, {1}, Reduce::Sum);
  check(ctx, x, {1}, Reduce::Max);
}

INSTANTIATE_TEST_SUITE_P(Kernel, ReduceK, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
