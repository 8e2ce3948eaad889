// matmul on the GPU against vkfuse::ref::matmul.
//
// Tolerance, per element: the fp32 dot product of K terms carries a rounding error of at most
// γ_K·Σ_k|a_ik·b_kj| with γ_K ≈ K·u (u = 2^-24, Higham, Accuracy and Stability, §3.1); we
// allow (K+2)·2u·Σ|a·b| + 2u·|bias| (the +2 covers alpha and bias). GELU adds its own fp32
// evaluation (a few ulp of the result) and the erf approximation (< 6e-8 absolute), and its
// slope is below 1.13, so the bound before it is scaled by 1.2.
#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkfuse::ops::Activation;
using vkt::Mode;

namespace {

struct Case {
  int64_t m, n, k;
  bool trans_b = false, bias = false;
  Activation act = Activation::None;
  int64_t batch = 1;
  bool b_broadcast = false;
  float alpha = 1.f;
  bool residual = false;
};

std::string case_name(const Case& c) {
  std::string s = std::to_string(c.m) + "x" + std::to_string(c.n) + "x" + std::to_string(c.k);
  if (c.trans_b) s += "_Bt";
  if (c.bias) s += "_bias";
  if (c.act == Activation::Relu) s += "_relu";
  if (c.act == Activation::Gelu) s += "_gelu";
  if (c.batch > 1) s += "_batch" + std::to_string(c.batch) + (c.b_broadcast ? "bcast" : "");
  if (c.alpha != 1.f) s += "_alpha";
  if (c.residual) s += "_residual";
  return s;
}

std::vector<float> abs_of(std::vector<float> v) {
  for (auto& x : v) x = std::fabs(x);
  return v;
}

void check(vkfuse::Context& ctx, const Case& c) {
  const int64_t bb = c.b_broadcast ? 1 : c.batch;
  auto a = vkt::random_vec(c.batch * c.m * c.k, 11);
  auto b = vkt::random_vec(bb * c.k * c.n, 12);
  auto bias = vkt::random_vec(c.n, 13);
  auto res = vkt::random_vec(c.batch * c.m * c.n, 14);
  Tensor tres = ctx.tensor({c.batch, c.m, c.n}, res);
  Tensor ta = ctx.tensor({c.batch, c.m, c.k}, a);
  Tensor tb = c.trans_b ? ctx.tensor({bb, c.n, c.k}, b) : ctx.tensor({bb, c.k, c.n}, b);
  Tensor tbias = ctx.tensor({c.n}, bias);
  Tensor tc = ctx.tensor({c.batch, c.m, c.n});
  vkfuse::ops::MatmulOptions o;
  o.trans_b = c.trans_b;
  o.act = c.act;
  o.alpha = c.alpha;
  if (c.bias) o.bias = &tbias;
  if (c.residual) o.residual = &tres;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::matmul(s, ta, c.b_broadcast ? tb.reshape({tb.dim(1), tb.dim(2)}) : tb, tc, o);
  });
  std::vector<float> want(c.batch * c.m * c.n), bound(want.size());
  vkfuse::ref::matmul(a.data(), b.data(), want.data(), c.batch, c.m, c.n, c.k, o,
                      c.bias ? bias.data() : nullptr, c.b_broadcast, c.residual ? res.data() : nullptr);
  vkfuse::ops::MatmulOptions plain;
  plain.trans_b = c.trans_b;
  plain.alpha = std::fabs(c.alpha);
  auto abs_bias = abs_of(bias);
  vkfuse::ref::matmul(abs_of(a).data(), abs_of(b).data(), bound.data(), c.batch, c.m, c.n, c.k, plain,
                      c.bias ? abs_bias.data() : nullptr, c.b_broadcast);
  std::vector<float> tol(want.size());
  for (size_t i = 0; i < tol.size(); ++i) {
    tol[i] = float(c.k + 2) * 2 * vkt::kEps / 2 * bound[i] + 1e-30f;
    if (c.act == Activation::Gelu) tol[i] = 1.2f * tol[i] + 4 * vkt::kEps * std::fabs(want[i]) + 1e-7f;
    if (c.residual) tol[i] += vkt::kEps * (std::fabs(want[i]) + 1.f);  // one more rounding
  }
  EXPECT_TRUE(vkt::near_all(tc.read(), want, tol)) << case_name(c) << " tuning " << vkfuse::to_string(ctx.tuning());
}

class MatmulSizes : public vkt::GpuTestP<std::tuple<Mode, Case>> {};

TEST_P(MatmulSizes, MatchesReference) {
  auto [mode, c] = GetParam();
  check(vkt::context(mode), c);
}

std::vector<Case> cases() {
  std::vector<Case> v = {
      {1, 1, 1},
      {1, 7, 3},
      {7, 1, 5},
      {3, 5, 1},
      {17, 31, 13},
      {64, 64, 64},
      {65, 63, 67},
      {127, 129, 131},
      {1, 300, 257, true, true},
      {97, 200, 33, false, true, Activation::Relu},
      {61, 53, 211, true, true, Activation::Gelu},
      {33, 47, 19, false, false, Activation::None, 5},
      {33, 47, 19, true, true, Activation::Gelu, 3, true},
      {40, 24, 72, false, true, Activation::None, 2, false, 0.125f},
      {257, 263, 269},
      // Rows on 4-float boundaries: the texel kernel where the device uses it.
      {29, 37, 212, true, true, Activation::Gelu, 2},
      {31, 44, 36, false, true, Activation::Relu, 3, true},
      {45, 40, 24, true, true, Activation::Gelu, 1, false, 1.f, true},   // x + f(x)
      {17, 13, 29, false, true, Activation::None, 2, false, 1.f, true},
  };
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernel, MatmulSizes,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable),
                                            ::testing::ValuesIn(cases())),
                         [](const auto& pi) {
                           return std::string(vkt::mode_name(std::get<0>(pi.param))) + "_" +
                                  case_name(std::get<1>(pi.param));
                         });

class Matmul : public vkt::GpuTestP<Mode> {};

// The size the issue names: 1024 x 1024 x 1024, in each mode.
TEST_P(Matmul, Large1024) { check(vkt::context(GetParam()), {1024, 1024, 1024, false, true}); }

// Tile shapes other than the device's choice, including non-square blocks and BK = 1.
TEST_P(Matmul, OtherTileShapes) {
  auto& ctx = vkt::context(GetParam());
  for (auto t : {vkfuse::Tuning::Matmul{8, 4, 3, 5, 7}, vkfuse::Tuning::Matmul{4, 16, 1, 2, 1},
                 vkfuse::Tuning::Matmul{16, 8, 8, 1, 16}}) {
    ctx.tuning().matmul = t;
    vkfuse::check_tuning(ctx.tuning(), ctx.caps());
    check(ctx, {45, 77, 39, true, true, Activation::Relu, 2});
    check(ctx, {5, 3, 101});
  }
}

// The texel kernels (CPU devices) with and without A shared by subgroup shuffles, at one and
// two rows of A per lane (tm 8 and 16 with 8 lanes), with strided A whose K is not a multiple
// of 4 (the K tail), and B as a padded weight matrix (nn::weight_matrix's layout). On a device
// without texel kernels the same cases run through the tiled kernel.
TEST_P(Matmul, TexelKernelsSharedAndPadded) {
  auto& ctx = vkt::context(GetParam());
  const auto& caps = ctx.caps();
  std::vector<vkfuse::Tuning::Matmul> tiles;
  if (caps.rgba32f_storage_texels) {
    for (auto t : {vkfuse::Tuning::Matmul{8, 4, 8, 8, 4, true}, vkfuse::Tuning::Matmul{8, 1, 16, 4, 4, true},
                   vkfuse::Tuning::Matmul{8, 2, 4, 4, 4, true}}) {
      tiles.push_back(t);
      t.shared_a = true;
      if (caps.subgroup_shuffle && caps.subgroup_size == 8) tiles.push_back(t);
    }
  } else {
    tiles.push_back(ctx.tuning().matmul);
  }
  for (const auto& t : tiles) {
    ctx.tuning().matmul = t;
    vkfuse::check_tuning(ctx.tuning(), caps);
    check(ctx, {29, 37, 212, true, true, Activation::Gelu, 2});
    check(ctx, {31, 44, 36, false, true, Activation::Relu, 3, true});
    check(ctx, {197, 64, 64, true, true, Activation::None, 1, false, 1.f, true});
    check(ctx, {9, 20, 8});
    // A [m, 37] in rows 40 apart (K tail of 1), B [n, 37] in rows 44 apart.
    for (bool tb : {true, false}) {
      const int64_t m = 19, n = 24, k = 37, lda = 40, ldb = 44;
      auto a = vkt::random_vec(m * lda, 21), b = vkt::random_vec((tb ? n : k) * ldb, 22);
      Tensor ta = ctx.tensor({m, lda}, a).view({m, k}, {lda, 1}, 0);
      Tensor tbm = ctx.tensor({tb ? n : k, ldb}, b).view({tb ? n : k, tb ? k : n}, {ldb, 1}, 0);
      Tensor tc = ctx.tensor({m, n});
      vkfuse::ops::MatmulOptions o;
      o.trans_b = tb;
      vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tbm, tc, o); });
      std::vector<float> want(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double acc = 0;
          for (int64_t x = 0; x < k; ++x) acc += double(a[i * lda + x]) * (tb ? b[j * ldb + x] : b[x * ldb + j]);
          want[i * n + j] = float(acc);
        }
      EXPECT_TRUE(vkt::near_all(tc.read(), want, 1e-5f, 1e-5f)) << (tb ? "B^T" : "B") << " " << vkfuse::to_string(ctx.tuning());
    }
  }
}

// Context::matrix: the values read back through its view are the ones given, rows padded
// exactly where the tuning says (multiples of 64 floats), and matmul reads it as B^T.
TEST_P(Matmul, WeightMatrixLayout) {
  auto& ctx = vkt::context(GetParam());
  for (uint32_t pad : {0u, 4u}) {
    ctx.tuning().matmul.pad_rows = pad;
    for (int64_t k : {64, 72}) {
      const int64_t n = 5, m = 3;
      auto w = vkt::random_vec(n * k, 31), a = vkt::random_vec(m * k, 32);
      Tensor tw = ctx.matrix(n, k, w);
      EXPECT_EQ(tw.shape(), (vkfuse::Shape{n, k}));
      EXPECT_EQ(tw.strides()[0], k % 64 == 0 ? k + pad : k) << "pad " << pad << " k " << k;
      Tensor ta = ctx.tensor({m, k}, a), tc = ctx.tensor({m, n});
      vkfuse::ops::MatmulOptions o;
      o.trans_b = true;
      vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tw, tc, o); });
      std::vector<float> want(m * n);
      vkfuse::ref::matmul(a.data(), w.data(), want.data(), 1, m, n, k, o, nullptr, false);
      EXPECT_TRUE(vkt::near_all(tc.read(), want, 1e-5f, 1e-5f)) << "pad " << pad << " k " << k;
    }
  }
  EXPECT_THROW(ctx.matrix(2, 3, std::vector<float>(5)), vkfuse::Error);
}

// lavapipe stops an invocation's loops after 65,535 back-edges in all. With BK = 1 a
// 70,000-deep product takes ~6 per K step in one dispatch and would be cut short (measured:
// 10,923 of 20,000 terms); the op splits K into slices that each fit, and every term counts.
TEST_P(Matmul, KLoopLongerThan65535Iterations) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().matmul = {4, 4, 1, 1, 1};
  const int64_t k = 70000;
  std::vector<float> a(2 * k, 1.f), b(k * 2, 1.f);
  Tensor ta = ctx.tensor({2, k}, a), tb = ctx.tensor({k, 2}, b), tc = ctx.tensor({2, 2});
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, tc); });
  for (float v : tc.read()) EXPECT_EQ(v, float(k));  // sums of ones are exact in fp32 below 2^24
  // The device's own tile (on lavapipe the texel kernel, ~K/4 back-edges: 300,000 would
  // take 75,000 in one dispatch), with bias and ReLU applied once, after the last slice.
  ctx.tuning() = vkfuse::choose_tuning(ctx.device(), ctx.caps());
  const int64_t k2 = 300000;
  std::vector<float> a2(2 * k2, 1.f), b2(k2 * 4, 1.f), bias = {0.5f, -float(k2), 0.f, 1.f};
  // N = 4: rows of B start on a texel, so the texel kernel may take it.
  Tensor ta2 = ctx.tensor({2, k2}, a2), tb2 = ctx.tensor({k2, 4}, b2), tbias = ctx.tensor({4}, bias);
  Tensor tc2 = ctx.tensor({2, 4});
  vkfuse::ops::MatmulOptions o;
  o.bias = &tbias;
  o.act = vkfuse::ops::Activation::Relu;
  Tensor res = ctx.tensor({2, 4}, std::vector<float>{1, 2, 3, 4, 5, 6, 7, 8});
  o.residual = &res;  // added once, after the last slice
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta2, tb2, tc2, o); });
  const float kf = float(k2);
  EXPECT_EQ(tc2.read(), (std::vector<float>{kf + 1.5f, 2.f, kf + 3, kf + 5, kf + 5.5f, 6.f, kf + 7, kf + 9}));
}

// Views: the heads of a [L, H·D] projection multiplied per head by strides, without copies.
TEST_P(Matmul, StridedHeadViews) {
  auto& ctx = vkt::context(GetParam());
  for (int64_t d : {5, 8}) {  // 8: head offsets on texel boundaries
  const int64_t l = 9, h = 3, s = 7;
  auto q = vkt::random_vec(l * h * d, 21), k = vkt::random_vec(s * h * d, 22);
  Tensor tq = ctx.tensor({l, h * d}, q), tk = ctx.tensor({s, h * d}, k), out = ctx.tensor({h, l, s});
  Tensor qh = tq.view({h, l, d}, {d, h * d, 1}, 0);  // [H, L, D] over [L, H·D]
  Tensor kh = tk.view({h, s, d}, {d, h * d, 1}, 0);
  vkfuse::ops::MatmulOptions o;
  o.trans_b = true;
  vkt::run_once(ctx, [&](vkfuse::Sequence& sq) { vkfuse::ops::matmul(sq, qh, kh, out, o); });
  auto got = out.read();
  for (int64_t ih = 0; ih < h; ++ih)
    for (int64_t i = 0; i < l; ++i)
      for (int64_t j = 0; j < s; ++j) {
        double acc = 0;
        for (int64_t e = 0; e < d; ++e) acc += double(q[i * h * d + ih * d + e]) * k[j * h * d + ih * d + e];
        EXPECT_NEAR(got[(ih * l + i) * s + j], acc, 8 * d * vkt::kEps) << ih << " " << i << " " << j;
      }
  }
}

TEST_P(Matmul, RejectsBadShapes) {
  auto& ctx = vkt::context(GetParam());
  Tensor a = ctx.tensor({4, 5}), b = ctx.tensor({6, 3}), c = ctx.tensor({4, 3}), bias = ctx.tensor({4});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::matmul(s, a, b, c), vkfuse::Error);  // K 5 vs 6
  Tensor b2 = ctx.tensor({5, 3});
  vkfuse::ops::MatmulOptions o;
  o.bias = &bias;
  EXPECT_THROW(vkfuse::ops::matmul(s, a, b2, c, o), vkfuse::Error);  // bias 4 vs N 3
  EXPECT_THROW(vkfuse::ops::matmul(s, a, b2, a), vkfuse::Error);     // C aliases A
  try {
    vkfuse::ops::matmul(s, a, b, c);
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("inner sizes differ"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Kernel, Matmul, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

// 16-bit weights: B stored as F16 or BF16 words and widened as the kernel reads it is the
// fp32 product with B rounded to that dtype, to the fp32 bound; and within 1e-2 of the
// product with the F32 weights. Every kernel that reads 16-bit B and can run here: the
// device's choice (on lavapipe the RGBA16 texel kernel with A shared by shuffles), the texel
// kernel with A per lane, the tiled kernel with 16-bit storage (normal mode) and with two
// words to a uint (portable mode, which assumes no 16-bit storage). Odd sizes and offsets
// cover the K and N edges and the high half-word of the packed reads.
enum class BKernel { DeviceChoice, TexelsPerLane, Tiled };
const char* bkernel_name(BKernel k) {
  return k == BKernel::DeviceChoice ? "Device" : k == BKernel::TexelsPerLane ? "TexelsPerLane" : "Tiled";
}

class Matmul16BitWeights : public vkt::GpuTestP<std::tuple<Mode, vkfuse::DType, BKernel>> {};


TEST_P(Matmul16BitWeights, WidenedExactly) {
  auto [mode, dt, kernel] = GetParam();
  auto& ctx = vkt::context(mode);
  const auto& caps = ctx.caps();
  if (kernel == BKernel::Tiled) ctx.tuning().matmul = vkfuse::Tuning::Matmul{};
  // Where the device has no texel kernels, its own choice again.
  if (kernel == BKernel::TexelsPerLane && caps.rgba32f_storage_texels && caps.rgba16_storage_texels)
    ctx.tuning().matmul = vkfuse::Tuning::Matmul{8, 2, 8, 4, 4, true, false};
  vkfuse::check_tuning(ctx.tuning(), caps);
  struct C16 { int64_t m, n, k, off; bool trans_b, bias; Activation act; };
  for (const C16& c : {C16{1, 1, 1, 0, true, false, Activation::None}, C16{7, 9, 13, 1, true, true, Activation::Relu},
                       C16{33, 64, 72, 0, true, true, Activation::None}, C16{65, 40, 128, 4, true, false, Activation::Gelu},
                       C16{17, 31, 29, 3, false, true, Activation::None}, C16{24, 48, 36, 0, false, false, Activation::Relu}}) {
    const int64_t rows = c.trans_b ? c.n : c.k, cols = c.trans_b ? c.k : c.n;
    auto a = vkt::random_vec(c.m * c.k, 41), b = vkt::random_vec(c.off + rows * cols, 42, -2.f, 2.f);
    auto bias = vkt::random_vec(c.n, 43);
    std::vector<uint16_t> words;
    std::vector<float> b_rounded;
    for (float x : b) {
      words.push_back(vkfuse::float_to_16bit(x, dt));
      b_rounded.push_back(vkfuse::round_to_16bit(x, dt));
    }
    Tensor tb;
    if (c.off == 0 && c.trans_b) {  // a weight as a model uploads it: Context::matrix (rows padded where tuned)
      tb = ctx.matrix(rows, cols, b, dt);
    } else {  // any 16-bit view: offset past the first element, either layout
      tb = ctx.tensor({c.off + rows * cols}, dt);
      tb.write(words.data(), words.size() * sizeof(uint16_t));
      tb = tb.view({rows, cols}, {cols, 1}, c.off);
    }
    EXPECT_EQ(tb.dtype(), dt);
    Tensor ta = ctx.tensor({c.m, c.k}, a), tbias = ctx.tensor({c.n}, bias), tc = ctx.tensor({c.m, c.n});
    vkfuse::ops::MatmulOptions o;
    o.trans_b = c.trans_b;
    o.act = c.act;
    if (c.bias) o.bias = &tbias;
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, tc, o); });
    const std::vector<float> b_used(b_rounded.begin() + c.off, b_rounded.end()), b_f32(b.begin() + c.off, b.end());
    std::vector<float> want(c.m * c.n), bound(want.size()), want_f32(want.size());
    vkfuse::ref::matmul(a.data(), b_used.data(), want.data(), 1, c.m, c.n, c.k, o, c.bias ? bias.data() : nullptr, false);
    vkfuse::ref::matmul(a.data(), b_f32.data(), want_f32.data(), 1, c.m, c.n, c.k, o, c.bias ? bias.data() : nullptr, false);
    vkfuse::ops::MatmulOptions plain;
    plain.trans_b = c.trans_b;
    auto abs_bias = abs_of(bias);
    vkfuse::ref::matmul(abs_of(a).data(), abs_of(b_used).data(), bound.data(), 1, c.m, c.n, c.k, plain,
                        c.bias ? abs_bias.data() : nullptr, false);
    std::vector<float> tol(want.size());
    for (size_t i = 0; i < tol.size(); ++i) {
      tol[i] = float(c.k + 2) * vkt::kEps * bound[i] + 1e-30f;
      if (c.act == Activation::Gelu) tol[i] = 1.2f * tol[i] + 4 * vkt::kEps * std::fabs(want[i]) + 1e-7f;
    }
    const std::string what = std::string(vkfuse::dtype_name(dt)) + " " + std::to_string(c.m) + "x" + std::to_string(c.n) +
                             "x" + std::to_string(c.k) + (c.trans_b ? " B^T" : " B") + " offset " + std::to_string(c.off) +
                             " tuning " + vkfuse::to_string(ctx.tuning());
    auto got = tc.read();
    EXPECT_TRUE(vkt::near_all(got, want, tol)) << what;
    // Against the F32 weights: F16 within 1e-2; BF16 (8 significant bits) within the rounding
    // of B, |Σ a·δb| <= u·Σ|a·b| with u = 2^-8 (GELU's slope is below 1.13).
    if (dt == vkfuse::DType::F16) {
      EXPECT_TRUE(vkt::near_all(got, want_f32, 1e-2f, 1e-2f)) << what;
    } else {
      for (size_t i = 0; i < tol.size(); ++i) tol[i] = 1.13f * (bound[i] / 256 + tol[i]);
      EXPECT_TRUE(vkt::near_all(got, want_f32, tol)) << what;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernel, Matmul16BitWeights,
                         ::testing::Values(std::make_tuple(Mode::Normal, vkfuse::DType::F16, BKernel::DeviceChoice),
                                           std::make_tuple(Mode::Normal, vkfuse::DType::F16, BKernel::TexelsPerLane),
                                           std::make_tuple(Mode::Normal, vkfuse::DType::F16, BKernel::Tiled),
                                           std::make_tuple(Mode::Normal, vkfuse::DType::BF16, BKernel::DeviceChoice),
                                           std::make_tuple(Mode::Normal, vkfuse::DType::BF16, BKernel::TexelsPerLane),
                                           std::make_tuple(Mode::Normal, vkfuse::DType::BF16, BKernel::Tiled),
                                           std::make_tuple(Mode::Portable, vkfuse::DType::F16, BKernel::DeviceChoice),
                                           std::make_tuple(Mode::Portable, vkfuse::DType::BF16, BKernel::DeviceChoice)),
                         [](const auto& pi) {
                           return std::string(vkt::mode_name(std::get<0>(pi.param))) + "_" +
                                  vkfuse::dtype_name(std::get<1>(pi.param)) + "_" + bkernel_name(std::get<2>(pi.param));
                         });

// fp16 tiles and products (Tuning::Matmul::fp16_math, opt-in), summed in fp32: each product
// carries the rounding of a, of b and of itself to fp16, 3·u16·|a·b| with u16 = 2^-11 (2^-10
// allowed: the conversions need not round to nearest), and values below fp16's normal range
// up to 2^-25 absolute each; plus the fp32 sum's bound. With F32, F16 and BF16 weights (the
// _packed_fp16math kernels need fp16 arithmetic without 16-bit storage, which neither mode
// here has). A device without shaderFloat16 (and portable mode) refuses the option.
TEST_P(Matmul, Fp16MathWithinItsBound) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().matmul = vkfuse::Tuning::Matmul{};
  ctx.tuning().matmul.fp16_math = true;
  if (!ctx.caps().float16_arithmetic) {
    EXPECT_THROW(vkfuse::check_tuning(ctx.tuning(), ctx.caps()), vkfuse::Error);
    return;
  }
  vkfuse::check_tuning(ctx.tuning(), ctx.caps());
  double worst = 0;  // the largest |error| / Σ|a·b|, reported
  for (vkfuse::DType dt : {vkfuse::DType::F32, vkfuse::DType::F16, vkfuse::DType::BF16})
    for (auto [m, n, k] : {std::tuple<int64_t, int64_t, int64_t>{33, 65, 17}, {64, 96, 256}, {197, 64, 768}}) {
      auto a = vkt::random_vec(m * k, 61, -4.f, 4.f), b = vkt::random_vec(n * k, 62);
      if (dt == vkfuse::DType::BF16)  // the reference on the BF16 values: their rounding is not the kernel's
        for (auto& x : b) x = vkfuse::round_to_16bit(x, dt);
      Tensor ta = ctx.tensor({m, k}, a), tb = ctx.matrix(n, k, b, dt), tc = ctx.tensor({m, n});
      vkfuse::ops::MatmulOptions o;
      o.trans_b = true;
      vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, tc, o); });
      std::vector<float> want(m * n), mag(m * n);
      vkfuse::ref::matmul(a.data(), b.data(), want.data(), 1, m, n, k, o, nullptr, false);
      vkfuse::ref::matmul(abs_of(a).data(), abs_of(b).data(), mag.data(), 1, m, n, k, o, nullptr, false);
      auto got = tc.read();
      std::vector<float> tol(want.size());
      for (size_t i = 0; i < tol.size(); ++i) {
        tol[i] = (3.f / 1024 + float(k + 2) * vkt::kEps) * mag[i] + float(k) * 3e-8f;
        worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / mag[i]);
      }
      EXPECT_TRUE(vkt::near_all(got, want, tol)) << vkfuse::dtype_name(dt) << " " << m << "x" << n << "x" << k;
    }
  std::printf("fp16 math: largest |error| / sum |a*b| = %.3g (2^-11 = %.3g)\n", worst, 1.0 / 2048);
  // fp32 products would stay near 2^-24: an error this small means the fp16 kernel did not run.
  EXPECT_GT(worst, 1e-6) << "fp16 products should round: is the fp16 kernel running?";
}

// Cooperative matrices (Tuning::Matmul::coopmat, VK_NV_cooperative_matrix): A and B rounded
// to fp16 (2^-11 each, 2^-10 allowed), products and sums in fp32, at edge tiles, both B
// layouts, 16-bit B, batches and a long K. lavapipe has no such units: there the option is
// refused, which is what this test checks on it; on a device that has them it runs the kernel.
TEST_P(Matmul, CoopmatWithinItsBoundOrRefused) {
  auto& ctx = vkt::context(GetParam());
  ctx.tuning().matmul = vkfuse::Tuning::Matmul{};
  ctx.tuning().matmul.coopmat = true;
  ctx.tuning().matmul.tm = ctx.tuning().matmul.tn = 2;
  if (!ctx.caps().cooperative_matrix) {
    EXPECT_THROW(vkfuse::check_tuning(ctx.tuning(), ctx.caps()), vkfuse::Error);
    return;
  }
  vkfuse::check_tuning(ctx.tuning(), ctx.caps());
  struct C { int64_t m, n, k; bool trans_b; vkfuse::DType b; int64_t batch; };
  for (const C& c : {C{1, 1, 1, true, vkfuse::DType::F32, 1}, C{33, 65, 17, false, vkfuse::DType::F32, 1},
                     C{197, 768, 64, true, vkfuse::DType::F16, 1}, C{45, 77, 39, true, vkfuse::DType::BF16, 1},
                     C{17, 31, 29, false, vkfuse::DType::F32, 3}, C{8, 16, 5000, true, vkfuse::DType::F16, 1}}) {
    auto a = vkt::random_vec(c.batch * c.m * c.k, 71), b = vkt::random_vec(c.n * c.k, 72);
    Tensor ta = ctx.tensor({c.batch, c.m, c.k}, a), tc = ctx.tensor({c.batch, c.m, c.n});
    Tensor tb = c.trans_b ? ctx.matrix(c.n, c.k, b, c.b) : ctx.matrix(c.k, c.n, b, c.b);
    vkfuse::ops::MatmulOptions o;
    o.trans_b = c.trans_b;
    vkt::run_once(ctx, [&](vkfuse::Sequence& s) { vkfuse::ops::matmul(s, ta, tb, tc, o); });
    std::vector<float> want(c.batch * c.m * c.n), mag(want.size());
    vkfuse::ref::matmul(a.data(), b.data(), want.data(), c.batch, c.m, c.n, c.k, o, nullptr, true);
    vkfuse::ref::matmul(abs_of(a).data(), abs_of(b).data(), mag.data(), c.batch, c.m, c.n, c.k, o, nullptr, true);
    std::vector<float> tol(want.size());
    // 16-bit B is rounded once already: its own 2^-8 (BF16) on top.
    const float u_b = c.b == vkfuse::DType::BF16 ? 1.f / 256 : 1.f / 1024;
    // fp16 subnormals (below 2^-14) keep 2^-24 absolute: up to 2^-25 per product.
    for (size_t i = 0; i < tol.size(); ++i)
      tol[i] = (1.f / 1024 + u_b + float(c.k + 2) * vkt::kEps) * mag[i] + float(c.k) * 3e-8f;
    EXPECT_TRUE(vkt::near_all(tc.read(), want, tol)) << c.m << "x" << c.n << "x" << c.k << " " << vkfuse::dtype_name(c.b);
  }
}

// A 16-bit weight is half the device memory of its F32 twin; other dtypes are refused.
TEST_P(Matmul, WeightMatrix16BitHalfTheMemory) {
  auto& ctx = vkt::context(GetParam());
  for (vkfuse::DType dt : {vkfuse::DType::F16, vkfuse::DType::BF16}) {
    auto w = vkt::random_vec(256 * 320, 51);
    const uint64_t before = ctx.memory_in_use();
    Tensor w32 = ctx.matrix(256, 320, w, vkfuse::DType::F32);
    const uint64_t f32_bytes = ctx.memory_in_use() - before;
    Tensor w16 = ctx.matrix(256, 320, w, dt);
    const uint64_t bytes16 = ctx.memory_in_use() - before - f32_bytes;
    EXPECT_EQ(bytes16 * 2, f32_bytes);
    EXPECT_THROW(ctx.matrix(2, 2, std::vector<float>(4), vkfuse::DType::I32), vkfuse::Error);
    // Only B may be 16-bit.
    Tensor a16 = ctx.matrix(4, 320, std::vector<float>(4 * 320), dt), c = ctx.tensor({4, 256});
    vkfuse::Sequence s(ctx);
    vkfuse::ops::MatmulOptions o;
    o.trans_b = true;
    EXPECT_THROW(vkfuse::ops::matmul(s, a16, w16, c, o), vkfuse::Error);
    // The context's default weight dtype is what matrix() without one stores.
    EXPECT_EQ(ctx.weight_dtype(), vkfuse::DType::F32);
    ctx.set_weight_dtype(dt);
    EXPECT_EQ(ctx.matrix(2, 2, std::vector<float>(4)).dtype(), dt);
    ctx.set_weight_dtype(vkfuse::DType::F32);
    EXPECT_THROW(ctx.set_weight_dtype(vkfuse::DType::U8), vkfuse::Error);
  }
}

}  // namespace
