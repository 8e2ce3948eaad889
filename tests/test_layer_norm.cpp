// layer norm on the GPU against vkfuse::ref::layer_norm (double accumulation).
//
// Tolerance: mean and variance are fp32 sums of n terms (relative error up to ~n·u, u =
// 2^-24), so the normalized value y is off by at most ~n·u·(|y| + 1) plus a few ulp for
// rsqrt, weight and bias: we allow 1e-5 + 2·n·u·(|y| + 1).
#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

struct Case {
  int64_t rows, n;
  bool weight = true, bias = true, residual = false;
  float offset = 0.f;  // a large mean tests the two-pass variance
};

void check(vkfuse::Context& ctx, const Case& c) {
  auto x = vkt::random_vec(c.rows * c.n, 41, c.offset - 2.f, c.offset + 2.f);
  auto r = vkt::random_vec(c.rows * c.n, 42);
  auto w = vkt::random_vec(c.n, 43, 0.5f, 1.5f), b = vkt::random_vec(c.n, 44);
  Tensor tx = ctx.tensor({c.rows, c.n}, x), tr = ctx.tensor({c.rows, c.n}, r), ty = ctx.tensor({c.rows, c.n});
  Tensor tw = ctx.tensor({c.n}, w), tb = ctx.tensor({c.n}, b);
  vkfuse::ops::LayerNormOptions o;
  o.eps = 1e-5f;
  if (c.weight) o.weight = &tw;
  if (c.bias) o.bias = &tb;
  if (c.residual) o.residual = &tr;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::layer_norm(s, tx, ty, o); });
  std::vector<float> want(x.size());
  vkfuse::ref::layer_norm(x.data(), c.residual ? r.data() : nullptr, want.data(), c.rows, c.n, o.eps,
                          c.weight ? w.data() : nullptr, c.bias ? b.data() : nullptr);
  std::vector<float> tol(want.size());
  for (size_t i = 0; i < tol.size(); ++i)
    tol[i] = 1e-5f + 2.f * float(c.n) * vkt::kEps / 2 * (std::fabs(want[i]) + 1.f) * (1.f + std::fabs(c.offset));
  EXPECT_TRUE(vkt::near_all(ty.read(), want, tol)) << c.rows << "x" << c.n << " " << vkfuse::to_string(ctx.tuning());
}

class LayerNorm : public vkt::GpuTestP<Mode> {};

TEST_P(LayerNorm, Sizes) {
  auto& ctx = vkt::context(GetParam());
  for (Case c : {Case{1, 1}, Case{1, 2}, Case{3, 7, false, false}, Case{197, 768}, Case{5, 40, true, false, true},
                 Case{17, 72, false, true, true}, Case{2, 1031}, Case{9, 384, true, true, false, 100.f}})
    check(ctx, c);
}

// Rows that are views of wider buffers, at offsets on and off a 4-float texel: lavapipe's
// texel kernel takes the aligned ones, the storage-buffer kernel the others.
TEST_P(LayerNorm, StridedRowsOnAndOffTexels) {
  auto& ctx = vkt::context(GetParam());
  const int64_t rows = 11, n = 64;
  for (auto [ld_, off_] : {std::pair<int64_t, int64_t>{68, 4}, {66, 2}, {64, 0}}) {
    const int64_t ld = ld_, off = off_;  // C++17 lambdas cannot capture a structured binding (clang refuses)
    auto x = vkt::random_vec(rows * ld + off, 45, -3.f, 5.f), r = vkt::random_vec(rows * ld + off, 46);
    auto w = vkt::random_vec(n, 47, 0.5f, 1.5f), b = vkt::random_vec(n, 48);
    Tensor bx = ctx.tensor({rows * ld + off}, x), br = ctx.tensor({rows * ld + off}, r);
    Tensor by = ctx.tensor({rows * ld + off}, std::vector<float>(rows * ld + off, 7.f));
    Tensor tw = ctx.tensor({n}, w), tb = ctx.tensor({n}, b);
    auto rows_of = [&](const Tensor& t) { return t.view({rows, n}, {ld, 1}, off); };
    Tensor vr = rows_of(br);
    vkfuse::ops::LayerNormOptions o;
    o.weight = &tw;
    o.bias = &tb;
    o.residual = &vr;
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::layer_norm(s, rows_of(bx), rows_of(by), o); });
    std::vector<float> xs(rows * n), rs(rows * n), want(rows * n);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j) {
        xs[i * n + j] = x[off + i * ld + j];
        rs[i * n + j] = r[off + i * ld + j];
      }
    vkfuse::ref::layer_norm(xs.data(), rs.data(), want.data(), rows, n, o.eps, w.data(), b.data());
    auto y = by.read();
    std::vector<float> got(rows * n);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j) got[i * n + j] = y[off + i * ld + j];
    EXPECT_TRUE(vkt::near_all(got, want, 1e-5f, 1e-5f)) << "ld " << ld << " offset " << off;
    for (int64_t i = 0; i < off; ++i) EXPECT_EQ(y[i], 7.f) << "before the first row";  // nothing outside the rows
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = n; j < ld; ++j) EXPECT_EQ(y[off + i * ld + j], 7.f) << "between rows, ld " << ld;
  }
}

TEST_P(LayerNorm, ReductionLayouts) {
  auto& ctx = vkt::context(GetParam());
  uint32_t wg = std::min<uint32_t>(128, ctx.caps().max_workgroup_invocations);
  for (uint32_t tpr : {1u, 8u, wg}) {
    for (bool sg : {false, true}) {
      if (sg && !ctx.caps().subgroup_arithmetic) continue;
      ctx.tuning().layer_norm = {wg, tpr};
      ctx.tuning().use_subgroups = sg;
      check(ctx, {37, 300, true, true, true});
      check(ctx, {3, 5});
    }
  }
}

// lavapipe stops an invocation's loops after 65,535 back-edges in all: one invocation per
// row over 70,000 elements (3 passes) would lose the row's tail. The op gives such rows more
// invocations; a row too long even for the whole workgroup is an error, not a wrong answer.
TEST_P(LayerNorm, RowLongerThan65535Iterations) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().layer_norm = {8, 1};
  check(ctx, {2, 70000});
}

INSTANTIATE_TEST_SUITE_P(Kernel, LayerNorm, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
