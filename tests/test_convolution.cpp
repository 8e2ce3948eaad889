// ops::conv on the GPU against ref::conv: 1 to 3 spatial axes, strides, dilations, asymmetric
// pads, groups, depthwise, the epilogue (bias, activation, residual) and a K deep enough to
// be split into slices.
//
// Tolerance: each output is a dot product of K = C/groups · taps fp32 terms of magnitude < 1
// (the reference sums in double): K·u·Σ|x·w| bounds it, so 2·K·eps absolute plus 1e-6.
#include "gpu_test.hpp"

using vkfuse::Shape;
using vkfuse::Tensor;
using vkt::Mode;

namespace {

struct Case {
  Shape x, w;
  vkfuse::ops::ConvOptions o;
};

void check(vkfuse::Context& ctx, Case c, bool epilogue = false) {
  const size_t sp = c.x.size() - 2;
  Shape y = {c.x[0], c.w[0]};
  for (size_t a = 0; a < sp; ++a) {
    auto at = [&](const std::vector<int64_t>& v, size_t k, int64_t d) { return v.empty() ? d : v[k]; };
    y.push_back(vkfuse::ops::conv_out_size(c.x[a + 2], c.w[a + 2], at(c.o.strides, a, 1), at(c.o.dilations, a, 1),
                                           at(c.o.pads, a, 0), at(c.o.pads, a + sp, 0)));
  }
  auto x = vkt::random_vec(size_t(vkfuse::shape_numel(c.x)), 21), w = vkt::random_vec(size_t(vkfuse::shape_numel(c.w)), 22);
  auto bias = vkt::random_vec(size_t(c.w[0]), 23), res = vkt::random_vec(size_t(vkfuse::shape_numel(y)), 24);
  Tensor tx = ctx.tensor(c.x, x), tw = ctx.tensor(c.w, w), ty = ctx.tensor(y), tb = ctx.tensor({c.w[0]}, bias),
         tr = ctx.tensor(y, res);
  if (epilogue) {
    c.o.bias = &tb;
    c.o.residual = &tr;
    c.o.act = vkfuse::ops::Activation::Relu;
  }
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::conv(s, tx, tw, ty, c.o); });
  std::vector<float> want(size_t(vkfuse::shape_numel(y)));
  vkfuse::ref::conv(x.data(), c.x, w.data(), c.w, epilogue ? bias.data() : nullptr, epilogue ? res.data() : nullptr,
                    want.data(), y, c.o);
  const int64_t k = vkfuse::shape_numel(c.w) / c.w[0];
  EXPECT_TRUE(vkt::near_all(ty.read(), want, 2.f * float(k) * vkt::kEps + 1e-6f, 0))
      << vkfuse::shape_string(c.x) << " * " << vkfuse::shape_string(c.w) << " groups " << c.o.groups << " tuning "
      << vkfuse::to_string(ctx.tuning());
}

vkfuse::ops::ConvOptions opts(std::vector<int64_t> strides, std::vector<int64_t> dil, std::vector<int64_t> pads,
                              int64_t groups = 1) {
  vkfuse::ops::ConvOptions o;
  o.strides = std::move(strides);
  o.dilations = std::move(dil);
  o.pads = std::move(pads);
  o.groups = groups;
  return o;
}

class Convolution : public vkt::GpuTestP<Mode> {};

TEST_P(Convolution, Dense2d) {
  auto& ctx = vkt::context(GetParam());
  check(ctx, {{1, 3, 9, 9}, {8, 3, 3, 3}, opts({}, {}, {1, 1, 1, 1})});
  check(ctx, {{2, 5, 11, 8}, {7, 5, 3, 2}, opts({2, 1}, {1, 2}, {1, 0, 2, 1})}, true);
  check(ctx, {{1, 16, 5, 5}, {33, 16, 1, 1}, opts({}, {}, {})}, true);           // pointwise 1x1
  check(ctx, {{1, 3, 32, 32}, {16, 3, 7, 7}, opts({2, 2}, {}, {3, 3, 3, 3})});   // a ResNet stem
}

TEST_P(Convolution, GroupsAndDepthwise) {
  auto& ctx = vkt::context(GetParam());
  check(ctx, {{1, 8, 7, 7}, {12, 4, 3, 3}, opts({}, {}, {1, 1, 1, 1}, 2)}, true);
  check(ctx, {{2, 6, 9, 10}, {6, 1, 3, 3}, opts({2, 2}, {}, {1, 1, 1, 1}, 6)}, true);  // depthwise
  check(ctx, {{1, 4, 8, 8}, {8, 1, 5, 5}, opts({}, {2, 2}, {4, 4, 4, 4}, 4)});          // multiplier 2
}

TEST_P(Convolution, OneAndThreeSpatialAxes) {
  auto& ctx = vkt::context(GetParam());
  check(ctx, {{2, 4, 20}, {6, 4, 5}, opts({3}, {1}, {2, 1})}, true);
  check(ctx, {{1, 2, 5, 6, 4}, {3, 2, 3, 3, 2}, opts({1, 2, 1}, {}, {1, 1, 0, 1, 1, 1})});
}

// K = 64·9 = 576 with a small bk is split into slices that accumulate into y, the epilogue
// applied once, with the last.
TEST_P(Convolution, DeepKSlices) {
  auto& ctx = vkt::context(GetParam());
  check(ctx, {{1, 64, 6, 6}, {10, 64, 3, 3}, opts({}, {}, {1, 1, 1, 1})}, true);
  ctx.tuning().conv = {8, 8, 2, 2, 4};
  check(ctx, {{1, 64, 6, 6}, {10, 64, 3, 3}, opts({}, {}, {1, 1, 1, 1})}, true);
}

TEST_P(Convolution, TileChoices) {
  auto& ctx = vkt::context(GetParam());
  const uint32_t wg = ctx.caps().max_workgroup_invocations;
  for (vkfuse::Tuning::Conv t : {vkfuse::Tuning::Conv{16, 8, 4, 4, 16}, vkfuse::Tuning::Conv{8, 4, 1, 1, 8},
                                 vkfuse::Tuning::Conv{4, 4, 8, 8, 4}}) {
    if (t.wg_x * t.wg_y > wg) continue;
    ctx.tuning().conv = t;
    check(ctx, {{2, 5, 11, 8}, {7, 5, 3, 2}, opts({2, 1}, {1, 2}, {1, 0, 2, 1})}, true);
  }
}

TEST_P(Convolution, RefusesWrongShapes) {
  auto& ctx = vkt::context(GetParam());
  Tensor x = ctx.tensor({1, 4, 5, 5}), w = ctx.tensor({6, 3, 3, 3}), y = ctx.tensor({1, 6, 3, 3});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::conv(s, x, w, y, {}), vkfuse::Error);  // C 4 against w's 3
  Tensor w2 = ctx.tensor({6, 4, 3, 3}), y2 = ctx.tensor({1, 6, 4, 4});
  EXPECT_THROW(vkfuse::ops::conv(s, x, w2, y2, {}), vkfuse::Error);  // y should be 3x3
}

INSTANTIATE_TEST_SUITE_P(Kernel, Convolution, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
