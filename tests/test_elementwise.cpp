// add, relu, gelu and the strided copies that split and merge attention heads.
// add, relu and copy are one fp32 operation (or none) per element on both sides: exact.
// gelu: the shader's erf approximation is within 6e-8 absolute and its fp32 evaluation a few
// ulp, so 2e-7 absolute + 8 ulp relative.
#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

class Elementwise : public vkt::GpuTestP<Mode> {};

TEST_P(Elementwise, AddSameShapeAndBroadcastRow) {
  auto& ctx = vkt::context(GetParam());
  const int64_t rows = 37, n = 53;
  auto a = vkt::random_vec(rows * n, 51), b = vkt::random_vec(rows * n, 52), row = vkt::random_vec(n, 53);
  Tensor ta = ctx.tensor({rows, n}, a), tb = ctx.tensor({rows, n}, b), trow = ctx.tensor({n}, row);
  Tensor c1 = ctx.tensor({rows, n}), c2 = ctx.tensor({rows, n});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::add(s, ta, tb, c1);
    vkfuse::ops::add(s, ta, trow, c2);
  });
  std::vector<float> w1(a.size()), w2(a.size());
  vkfuse::ref::add(a.data(), b.data(), w1.data(), rows * n, rows * n);
  vkfuse::ref::add(a.data(), row.data(), w2.data(), rows * n, n);
  EXPECT_EQ(c1.read(), w1);
  EXPECT_EQ(c2.read(), w2);
  Tensor bad = ctx.tensor({n + 1});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::add(s, ta, bad, c1), vkfuse::Error);
}

TEST_P(Elementwise, ReluAndGelu) {
  auto& ctx = vkt::context(GetParam());
  const int64_t n = 10007;
  auto x = vkt::random_vec(n, 54, -6.f, 6.f);
  x[0] = 0.f;
  x[1] = -0.f;
  x[2] = 1e-20f;
  x[3] = 0.4999f;
  x[4] = -0.5001f;
  Tensor tx = ctx.tensor({n}, x), r = ctx.tensor({n}), g = ctx.tensor({n});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::relu(s, tx, r);
    vkfuse::ops::gelu(s, tx, g);
  });
  std::vector<float> wr(n), wg(n);
  for (int64_t i = 0; i < n; ++i) {
    wr[i] = vkfuse::ref::relu(x[i]);
    wg[i] = vkfuse::ref::gelu(x[i]);
  }
  EXPECT_EQ(r.read(), wr);
  EXPECT_TRUE(vkt::near_all(g.read(), wg, 2e-7f, 8 * vkt::kEps));
}

TEST_P(Elementwise, SplitAndMergeHeads) {
  auto& ctx = vkt::context(GetParam());
  const int64_t b = 2, l = 7, h = 3, d = 5;
  auto x = vkt::random_vec(b * l * h * d, 55);
  Tensor tx = ctx.tensor({b, l, h * d}, x), heads = ctx.tensor({b, h, l, d}), back = ctx.tensor({b, l, h * d});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::split_heads(s, tx, heads, h);
    vkfuse::ops::merge_heads(s, heads, back);
  });
  std::vector<float> want(x.size()), merged(x.size());
  vkfuse::ref::split_heads(x.data(), want.data(), b, l, h, d);
  vkfuse::ref::merge_heads(want.data(), merged.data(), b, l, h, d);
  EXPECT_EQ(heads.read(), want);
  EXPECT_EQ(back.read(), merged);
  EXPECT_EQ(merged, x);
}

// More workgroups than one dispatch axis allows (65,535 on most devices): the grid is
// split over two axes and every element is still written once.
TEST_P(Elementwise, GridBeyondOneAxis) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().elementwise_wg = 16;
  const int64_t n = 16 * 65535 + 1234;
  auto a = vkt::random_vec(n, 56);
  std::vector<float> row = {1.f, -2.f};
  Tensor ta = ctx.tensor({n / 2, 2}, a), tb = ctx.tensor({2}, row), tc = ctx.tensor({n / 2, 2});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::add(s, ta, tb, tc); });
  std::vector<float> want(n);
  vkfuse::ref::add(a.data(), row.data(), want.data(), n, 2);
  EXPECT_EQ(tc.read(), want);
}

TEST_P(Elementwise, SigmoidGatherAndTrailingBroadcast) {
  auto& ctx = vkt::context(GetParam());
  const int64_t n = 1001;
  auto x = vkt::random_vec(n, 57, -30.f, 30.f);
  Tensor tx = ctx.tensor({n}, x), sg = ctx.tensor({n});
  // Embedding rows 3, 0, 4, 4, 1 of a [5, 6] table.
  auto table = vkt::random_vec(30, 58);
  std::vector<int32_t> ids = {3, 0, 4, 4, 1};
  Tensor tt = ctx.tensor({5, 6}, table), tid = ctx.tensor({5}, vkfuse::DType::I32), rows = ctx.tensor({5, 6});
  tid.write(ids.data(), ids.size() * 4);
  // [2, 3, 4] + [3, 4] (a positional table broadcast over the batch).
  auto a = vkt::random_vec(24, 59), pos = vkt::random_vec(12, 60);
  Tensor ta = ctx.tensor({2, 3, 4}, a), tp = ctx.tensor({1, 3, 4}, pos), tc = ctx.tensor({2, 3, 4});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::sigmoid(s, tx, sg);
    vkfuse::ops::gather_rows(s, tt, tid, rows);
    vkfuse::ops::add(s, ta, tp, tc);
  });
  std::vector<float> ws(n), wr(30), wc(24);
  for (int64_t i = 0; i < n; ++i) ws[i] = vkfuse::ref::sigmoid(x[i]);
  vkfuse::ref::gather_rows(table.data(), 5, 6, ids.data(), 5, wr.data());
  vkfuse::ref::add(a.data(), pos.data(), wc.data(), 24, 12);
  EXPECT_TRUE(vkt::near_all(sg.read(), ws, 1e-7f, 8 * vkt::kEps));  // exp within a few ulp, one division
  EXPECT_EQ(rows.read(), wr);
  EXPECT_EQ(tc.read(), wc);
  vkfuse::Sequence s(ctx);
  Tensor bad = ctx.tensor({3, 3});
  EXPECT_THROW(vkfuse::ops::add(s, ta, bad, tc), vkfuse::Error);
}

// Rank 6: an image [B, C, H, W] cut into patches [B, gh, gw, C, P, P] (Conv2d with stride =
// kernel as a matmul over patches).
TEST_P(Elementwise, CopyRank6ImagePatches) {
  auto& ctx = vkt::context(GetParam());
  const int64_t b = 2, c = 3, p = 4, g = 2, hw = p * g;
  auto img = vkt::random_vec(b * c * hw * hw, 61);
  Tensor ti = ctx.tensor({b, c, hw, hw}, img), patches = ctx.tensor({b, g, g, c, p, p});
  Tensor view = ti.view({b, g, g, c, p, p}, {c * hw * hw, p * hw, p, hw * hw, hw, 1}, 0);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::copy(s, view, patches); });
  std::vector<float> want(img.size());
  vkfuse::ref::copy(img.data(), view.strides(), want.data(), patches.strides(), patches.shape());
  EXPECT_EQ(patches.read(), want);
}

INSTANTIATE_TEST_SUITE_P(Kernel, Elementwise, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
