// ops::pad on the GPU against ref::pad: the four modes on floats and integers, pads before
// and after, negative pads (a crop), and a strided input.
#include "array_test.hpp"

using vkfuse::Shape;
using vkfuse::Tensor;
using vkfuse::ops::PadMode;
using vkfuse::ref::Array;
using vkt::Mode;

namespace {

void check(vkfuse::Context& ctx, const Array& x, const std::vector<int64_t>& before, const Shape& out, PadMode mode,
           double value) {
  Tensor tx = vkt::upload(ctx, x), ty = ctx.tensor(out, x.integer ? vkfuse::DType::I32 : vkfuse::DType::F32);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::pad(s, tx, ty, before, mode, value); });
  EXPECT_TRUE(vkt::near_array(vkt::download(ty), vkfuse::ref::pad(x, before, out, mode, value), 0, 0))
      << "mode " << int(mode) << " " << vkfuse::shape_string(x.shape) << " -> " << vkfuse::shape_string(out);
}

class PadK : public vkt::GpuTestP<Mode> {};

TEST_P(PadK, Modes) {
  auto& ctx = vkt::context(GetParam());
  const Array f = vkt::random_floats({2, 3, 4, 5}, 61), i = vkt::random_ints({3, 4}, 62, -9, 9);
  for (PadMode m : {PadMode::Constant, PadMode::Reflect, PadMode::Edge, PadMode::Wrap}) {
    check(ctx, f, {0, 0, 2, 1}, {2, 3, 7, 9}, m, 1.5);
    check(ctx, f, {0, 1, -1, 0}, {2, 4, 2, 5}, m, 0);  // a negative pad crops
    check(ctx, i, {1, 3}, {5, 9}, m, -7);
  }
  check(ctx, i, {0, 0}, {9, 12}, PadMode::Wrap, 0);  // Tile: 3x along both axes
}

TEST_P(PadK, StridedInput) {
  auto& ctx = vkt::context(GetParam());
  const Array x = vkt::random_floats({4, 6}, 63);
  Tensor tx = vkt::upload(ctx, x), ty = ctx.tensor({8, 6});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::pad(s, tx.permute({1, 0}), ty, {1, 1}, PadMode::Edge); });
  Array xt = Array::floats({6, 4}, std::vector<float>(24));
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 6; ++c) xt.f[size_t(c * 4 + r)] = x.f[size_t(r * 6 + c)];
  EXPECT_TRUE(vkt::near_array(vkt::download(ty), vkfuse::ref::pad(xt, {1, 1}, {8, 6}, PadMode::Edge, 0), 0, 0));
}

INSTANTIATE_TEST_SUITE_P(Kernel, PadK, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
