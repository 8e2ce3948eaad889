// ops::pool on the GPU against ref::pool: max and average over 1 to 3 spatial axes, padding,
// dilation, count_include_pad, and a ceil-mode last window that runs past the padding.
//
// Tolerance: a max is exact; an average is a sum of at most 27 terms and one division
// (1e-6 absolute + 1e-6 relative).
#include "gpu_test.hpp"

using vkfuse::Shape;
using vkfuse::Tensor;
using vkfuse::ops::PoolKind;
using vkt::Mode;

namespace {

void check(vkfuse::Context& ctx, const Shape& xs, const Shape& ys, PoolKind kind, const vkfuse::ops::PoolOptions& o) {
  auto x = vkt::random_vec(size_t(vkfuse::shape_numel(xs)), 31, -2.f, 2.f);
  Tensor tx = ctx.tensor(xs, x), ty = ctx.tensor(ys);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::pool(s, tx, ty, kind, o); });
  std::vector<float> want(size_t(vkfuse::shape_numel(ys)));
  vkfuse::ref::pool(x.data(), xs, want.data(), ys, kind, o);
  EXPECT_TRUE(vkt::near_all(ty.read(), want, 1e-6f, 1e-6f))
      << (kind == PoolKind::Max ? "max " : "average ") << vkfuse::shape_string(xs) << " -> " << vkfuse::shape_string(ys);
}

vkfuse::ops::PoolOptions opts(Shape k, Shape s, Shape p, Shape d = {}, bool include_pad = false) {
  vkfuse::ops::PoolOptions o;
  o.kernel = std::move(k);
  o.strides = std::move(s);
  o.pads = std::move(p);
  o.dilations = std::move(d);
  o.count_include_pad = include_pad;
  return o;
}

class Pooling : public vkt::GpuTestP<Mode> {};

TEST_P(Pooling, TwoAxes) {
  auto& ctx = vkt::context(GetParam());
  for (PoolKind kind : {PoolKind::Max, PoolKind::Average}) {
    check(ctx, {2, 3, 8, 8}, {2, 3, 4, 4}, kind, opts({2, 2}, {2, 2}, {0, 0, 0, 0}));
    check(ctx, {1, 4, 9, 9}, {1, 4, 5, 5}, kind, opts({3, 3}, {2, 2}, {1, 1, 1, 1}));  // ResNet's max pool
    check(ctx, {1, 2, 7, 6}, {1, 2, 4, 3}, kind, opts({3, 3}, {2, 2}, {1, 1, 1, 1}, {}, true));
    check(ctx, {1, 2, 10, 10}, {1, 2, 3, 3}, kind, opts({3, 3}, {3, 3}, {0, 0, 0, 0}, {2, 2}));
    // ceil_mode: 8 with kernel 3 stride 2 gives 4 windows, the last cut to the input.
    check(ctx, {1, 3, 8, 8}, {1, 3, 4, 4}, kind, opts({3, 3}, {2, 2}, {0, 0, 0, 0}));
  }
}

TEST_P(Pooling, OneAndThreeAxes) {
  auto& ctx = vkt::context(GetParam());
  for (PoolKind kind : {PoolKind::Max, PoolKind::Average}) {
    check(ctx, {2, 3, 17}, {2, 3, 6}, kind, opts({4}, {3}, {1, 2}));
    check(ctx, {1, 2, 5, 6, 7}, {1, 2, 3, 3, 4}, kind, opts({3, 2, 3}, {2, 2, 2}, {1, 0, 1, 1, 0, 1}));
  }
}

// Global pooling is a window of the whole plane.
TEST_P(Pooling, Global) {
  auto& ctx = vkt::context(GetParam());
  for (PoolKind kind : {PoolKind::Max, PoolKind::Average})
    check(ctx, {2, 5, 7, 7}, {2, 5, 1, 1}, kind, opts({7, 7}, {1, 1}, {0, 0, 0, 0}));
}

INSTANTIATE_TEST_SUITE_P(Kernel, Pooling, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
