// The kernels the standard archs (vit, clip, bert) added: the quick_gelu, tanh-GELU and tanh
// activations (elementwise and in the matmul epilogue), the L2 row normalization, the
// causal mask computed inside the attention kernel, and top-k; each against its CPU
// reference in every mode.
// Tolerances: tanh_stable and the exp of quick_gelu are a few ulp in fp32 (Vulkan's exp is
// 3 + 2|x| ulp), so 2e-7 absolute + 16 ulp relative; the matmul epilogue adds the fp32 dot
// product's K·u of test_matmul.cpp. l2_normalize: n fp32 squares summed, 1e-6 relative.
#include <cmath>
#include <limits>

#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkfuse::ops::Activation;
using vkt::Mode;

namespace {

class StandardKernels : public vkt::GpuTestP<Mode> {};

const Activation kNew[] = {Activation::QuickGelu, Activation::GeluTanh, Activation::Tanh};

TEST_P(StandardKernels, ActivationsElementwise) {
  auto& ctx = vkt::context(GetParam());
  const int64_t n = 4099;
  auto x = vkt::random_vec(n, 91, -12.f, 12.f);
  // Hand-picked: zero, tiny, near the Taylor switch of tanh (1/16), large of both signs.
  const float picks[] = {0.f, -0.f, 1e-20f, 0.0624f, -0.0626f, 0.03125f, 50.f, -50.f, 100.f, -100.f};
  for (size_t i = 0; i < std::size(picks); ++i) x[i] = picks[i];
  Tensor tx = ctx.tensor({n}, x);
  for (Activation f : kNew) {
    Tensor y = ctx.tensor({n});
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::activation(s, tx, y, f); });
    std::vector<float> want(n);
    for (int64_t i = 0; i < n; ++i) want[i] = vkfuse::ref::activate(f, x[i]);
    EXPECT_TRUE(vkt::near_all(y.read(), want, 2e-7f, 16 * vkt::kEps)) << "activation " << int(f);
  }
}

TEST(StandardKernelsReference, HandWorkedActivations) {
  // quick_gelu(1) = 1/(1+e^-1.702) = 1/(1+0.182311) = 0.845796; gelu_tanh(1) = 0.5(1 + tanh(0.79788·1.044715))
  // = 0.841192; tanh(0.5) = 0.462117.
  EXPECT_NEAR(vkfuse::ref::activate(Activation::QuickGelu, 1.0), 0.845796f, 1e-6f);
  EXPECT_NEAR(vkfuse::ref::activate(Activation::GeluTanh, 1.0), 0.841192f, 1e-6f);
  EXPECT_NEAR(vkfuse::ref::activate(Activation::Tanh, 0.5), 0.462117f, 1e-6f);
  EXPECT_EQ(vkfuse::ref::activate(Activation::QuickGelu, -200.0), -0.f);
}

TEST_P(StandardKernels, ActivationsInTheMatmulEpilogue) {
  auto& ctx = vkt::context(GetParam());
  const int64_t m = 19, n = 37, k = 45;
  auto a = vkt::random_vec(m * k, 92, -2.f, 2.f), b = vkt::random_vec(n * k, 93), bias = vkt::random_vec(n, 94);
  Tensor ta = ctx.tensor({m, k}, a), tb = ctx.tensor({n, k}, b), tbias = ctx.tensor({n}, bias);
  for (Activation f : kNew) {
    Tensor c = ctx.tensor({m, n});
    vkfuse::ops::MatmulOptions o;
    o.trans_b = true;
    o.bias = &tbias;
    o.act = f;
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, c, o); });
    std::vector<float> want(m * n);
    vkfuse::ref::matmul(a.data(), b.data(), want.data(), 1, m, n, k, o, bias.data(), false);
    EXPECT_TRUE(vkt::near_all(c.read(), want, 2e-6f, 64 * vkt::kEps)) << "activation " << int(f);
  }
}

TEST_P(StandardKernels, L2NormalizeRowsAndStridedRows) {
  auto& ctx = vkt::context(GetParam());
  for (int64_t n : {1, 7, 384, 1000}) {
    const int64_t rows = 5;
    auto x = vkt::random_vec(rows * n * 2, 95 + n, -3.f, 3.f);
    for (int64_t i = 0; i < n; ++i) x[i] = 0.f;  // row 0 is zero: x / max(0, eps)
    Tensor tx = ctx.tensor({rows, 2 * n}, x), y = ctx.tensor({rows, n}), z = ctx.tensor({rows, n});
    Tensor first = tx.view({rows, n}, {2 * n, 1}, 0);  // the first half of each row
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
      vkfuse::ops::l2_normalize(s, first, y, 1e-12f);
      vkfuse::ops::l2_normalize(s, first, z, 0.f);
    });
    std::vector<float> packed(rows * n), want(rows * n);
    for (int64_t r = 0; r < rows; ++r) std::copy_n(x.begin() + r * 2 * n, n, packed.begin() + r * n);
    vkfuse::ref::l2_normalize(packed.data(), want.data(), rows, n, 1e-12f);
    EXPECT_TRUE(vkt::near_all(y.read(), want, 1e-7f, 1e-6f)) << "n = " << n;
    auto got = z.read();
    for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(std::isnan(got[i])) << "0 / 0 at " << i;
    double ss = 0;
    for (int64_t i = n; i < 2 * n; ++i) ss += double(got[i]) * got[i];
    EXPECT_NEAR(ss, 1.0, 1e-5) << "row 1 has unit norm, n = " << n;
  }
}

TEST_P(StandardKernels, CausalAttentionWithPadding) {
  auto& ctx = vkt::context(GetParam());
  const int64_t b = 2, h = 3, l = 9, d = 5;
  auto q = vkt::random_vec(b * h * l * d, 96), k = vkt::random_vec(b * h * l * d, 97), v = vkt::random_vec(b * h * l * d, 98);
  std::vector<float> pad(b * l, 0.f);
  for (int64_t j = 6; j < l; ++j) pad[1 * l + j] = -std::numeric_limits<float>::infinity();  // row 1: 3 pads
  Tensor tq = ctx.tensor({b, h, l, d}, q), tk = ctx.tensor({b, h, l, d}, k), tv = ctx.tensor({b, h, l, d}, v);
  Tensor tpad = ctx.tensor({b, l}, pad), out = ctx.tensor({b, h, l, d}), lse = ctx.tensor({b, h, l});
  Tensor weights = ctx.tensor({b, l, l});
  vkfuse::ops::AttentionOptions o;
  o.causal = true;
  o.key_padding = &tpad;
  o.lse = &lse;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::attention(s, tq, tk, tv, out, o);
    vkfuse::ops::attention_weights(s, tq, tk, weights, o);
  });
  const auto mask = vkfuse::ref::causal_mask(l);
  std::vector<float> want(q.size()), want_w(b * l * l);
  vkfuse::ref::attention(q.data(), k.data(), v.data(), want.data(), want_w.data(), b, h, l, l, d,
                         vkfuse::ops::Score::Dot, 0.f, pad.data(), mask.data());
  EXPECT_TRUE(vkt::near_all(out.read(), want, 2e-6f, 0.f));
  EXPECT_TRUE(vkt::near_all(weights.read(), want_w, 2e-6f, 0.f));
  // Row 0 of each batch sees only key 0: its output is v's row 0 exactly (weight 1).
  auto got = out.read();
  for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(got[j], v[j], 1e-6f);
  // A causal mask needs L = S.
  Tensor k2 = ctx.tensor({b, h, l + 1, d}), v2 = ctx.tensor({b, h, l + 1, d});
  vkfuse::ops::AttentionOptions c;
  c.causal = true;
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::attention(s, tq, k2, v2, out, c), vkfuse::Error);
}

TEST_P(StandardKernels, TopKOrderTiesAndNaN) {
  auto& ctx = vkt::context(GetParam());
  const int64_t rows = 3, n = 1001, k = 10;
  auto x = vkt::random_vec(rows * n, 99);
  // Row 1: ties (the lower index first), -inf and NaN (after every number).
  x[n + 5] = x[n + 700] = x[n + 900] = 2.f;
  x[n + 6] = -std::numeric_limits<float>::infinity();
  x[n + 7] = std::numeric_limits<float>::quiet_NaN();
  // Row 2: almost all NaN, so the last places are NaN.
  for (int64_t i = 0; i < n; ++i) x[2 * n + i] = i < 4 ? float(i) : std::numeric_limits<float>::quiet_NaN();
  Tensor tx = ctx.tensor({rows, n}, x), vals = ctx.tensor({rows, k}), idx = ctx.tensor({rows, k}, vkfuse::DType::I32);
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::top_k(s, tx, vals, idx); });
  std::vector<float> want_v(rows * k);
  std::vector<int32_t> want_i(rows * k), got_i(rows * k);
  vkfuse::ref::top_k(x.data(), rows, n, k, want_v.data(), want_i.data());
  idx.read(got_i.data(), got_i.size() * 4);
  EXPECT_EQ(got_i, want_i);
  auto got_v = vals.read();
  for (size_t i = 0; i < got_v.size(); ++i)
    EXPECT_TRUE(got_v[i] == want_v[i] || (std::isnan(got_v[i]) && std::isnan(want_v[i]))) << i;
  EXPECT_EQ(want_i[k + 0], 5);
  EXPECT_EQ(want_i[k + 1], 700);
  EXPECT_EQ(want_i[k + 2], 900);
  EXPECT_EQ(want_i[2 * k + 0], 3);
  EXPECT_EQ(want_i[2 * k + 4], 4);  // the first NaN
  Tensor too_many = ctx.tensor({rows, n + 1}), idx2 = ctx.tensor({rows, n + 1}, vkfuse::DType::I32);
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::top_k(s, tx, too_many, idx2), vkfuse::Error);
}

INSTANTIATE_TEST_SUITE_P(Kernel, StandardKernels, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
