// ops::resize on the GPU against ref::resize: nearest (each rounding), linear and cubic,
// every coordinate transform, up and down, on two and three axes.
//
// Tolerance: an output is a weighted sum of at most 4·4 inputs with weights summing to 1
// (1e-6 absolute + 1e-6 relative); nearest is exact.
#include "gpu_test.hpp"

using vkfuse::Shape;
using vkfuse::Tensor;
using vkfuse::ops::ResizeOptions;
using vkt::Mode;

namespace {

void check(vkfuse::Context& ctx, const Shape& xs, const Shape& ys, const ResizeOptions& o) {
  auto x = vkt::random_vec(size_t(vkfuse::shape_numel(xs)), 51);
  Tensor tx = ctx.tensor(xs, x), ty = ctx.tensor(ys);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::resize(s, tx, ty, o); });
  std::vector<float> want(size_t(vkfuse::shape_numel(ys)));
  vkfuse::ref::resize(x.data(), xs, want.data(), ys, o);
  EXPECT_TRUE(vkt::near_all(ty.read(), want, 1e-6f, 1e-6f))
      << "mode " << o.mode << " coordinate " << o.coordinate << " " << vkfuse::shape_string(xs) << " -> "
      << vkfuse::shape_string(ys);
}

class ResizeK : public vkt::GpuTestP<Mode> {};

TEST_P(ResizeK, ModesAndCoordinates) {
  auto& ctx = vkt::context(GetParam());
  for (auto mode : {ResizeOptions::Nearest, ResizeOptions::Linear, ResizeOptions::Cubic})
    for (auto coord : {ResizeOptions::HalfPixel, ResizeOptions::PytorchHalfPixel, ResizeOptions::AlignCorners,
                       ResizeOptions::Asymmetric}) {
      ResizeOptions o;
      o.mode = mode;
      o.coordinate = coord;
      check(ctx, {1, 2, 5, 7}, {1, 2, 10, 14}, o);  // up 2x
      check(ctx, {1, 2, 9, 8}, {1, 2, 4, 3}, o);    // down, uneven
      o.exclude_outside = mode == ResizeOptions::Cubic;
      check(ctx, {2, 1, 6, 4}, {2, 1, 13, 9}, o);
    }
}

TEST_P(ResizeK, NearestRoundings) {
  auto& ctx = vkt::context(GetParam());
  for (auto r : {ResizeOptions::RoundPreferFloor, ResizeOptions::RoundPreferCeil, ResizeOptions::Floor, ResizeOptions::Ceil}) {
    ResizeOptions o;
    o.nearest = r;
    o.coordinate = ResizeOptions::Asymmetric;
    check(ctx, {1, 1, 4, 6}, {1, 1, 7, 15}, o);
    o.coordinate = ResizeOptions::TfHalfPixelForNn;
    check(ctx, {1, 1, 4, 6}, {1, 1, 7, 15}, o);
  }
}

// Scales given (ONNX's `scales`) that differ from the sizes' ratio, and three resized axes.
TEST_P(ResizeK, ScalesAndThreeAxes) {
  auto& ctx = vkt::context(GetParam());
  ResizeOptions o;
  o.mode = ResizeOptions::Linear;
  o.scales = {1.f, 1.f, 2.5f, 1.7f};
  check(ctx, {1, 3, 4, 5}, {1, 3, 10, 8}, o);
  ResizeOptions t;
  t.mode = ResizeOptions::Linear;
  check(ctx, {1, 2, 3, 4, 5}, {1, 2, 6, 3, 9}, t);
}

INSTANTIATE_TEST_SUITE_P(Kernel, ResizeK, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
