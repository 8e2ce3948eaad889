// ops::gather on the GPU against ref::gather: each axis, index arrays of rank 0 to 2,
// negative indices, floats and integers.
#include "array_test.hpp"

using vkfuse::Shape;
using vkfuse::Tensor;
using vkfuse::ref::Array;
using vkt::Mode;

namespace {

void check(vkfuse::Context& ctx, const Array& x, const Array& idx, int axis) {
  const Array want = vkfuse::ref::gather(x, idx, axis);
  Tensor tx = vkt::upload(ctx, x), ti = vkt::upload(ctx, idx);
  Tensor ty = ctx.tensor(want.shape, x.integer ? vkfuse::DType::I32 : vkfuse::DType::F32);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::gather(s, tx, ti, ty, axis); });
  EXPECT_TRUE(vkt::near_array(vkt::download(ty), want, 0, 0)) << "axis " << axis << " indices " << vkfuse::shape_string(idx.shape);
}

class GatherK : public vkt::GpuTestP<Mode> {};

TEST_P(GatherK, AxesAndIndexShapes) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({5, 6, 7}, 71), xi = vkt::random_ints({5, 6, 7}, 72, -100, 100);
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t n = x.shape[size_t(axis)];
    check(ctx, x, vkt::random_ints({4}, 73, -n, n - 1), axis);
    check(ctx, xi, vkt::random_ints({2, 3}, 74, -n, n - 1), axis);
    check(ctx, x, Array::ints({}, {n - 1}), axis);
  }
}

TEST_P(GatherK, OutOfRangeIsAnErrorOfTheReference) {
  const Array x = vkt::random_floats({3, 2}, 75);
  EXPECT_THROW(vkfuse::ref::gather(x, Array::ints({1}, {3}), 0), vkfuse::Error);
  EXPECT_THROW(vkfuse::ref::gather(x, Array::ints({1}, {-4}), 0), vkfuse::Error);
}

INSTANTIATE_TEST_SUITE_P(Kernel, GatherK, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
