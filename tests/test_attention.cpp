// Fused attention (and its head-averaged weights) on the GPU against vkfuse::ref::attention.
//
// Tolerance: a score is a sum of D fp32 terms of size <= 1 (inputs in [-1, 1]), so its
// absolute error is at most δ ≈ D·u·D·scale·4 (u = 2^-24; the 4 covers the euclidean and
// manhattan forms, where |q-k| <= 2). exp turns an absolute score error δ into a relative
// probability error of about δ, and both the output (a convex combination of v, |v| <= 1)
// and the weights (averages of probabilities) then move by at most 2δ. We allow 4δ + 1e-6.
#include <limits>

#include "gpu_test.hpp"

using vkfuse::Tensor;
using vkfuse::ops::Score;
using vkt::Mode;

namespace {

const float kInf = std::numeric_limits<float>::infinity();

struct Case {
  int64_t b, h, l, s, d;
  bool key_pad = false, attn_mask = false;
  Score score = Score::Dot;
  bool fully_masked_row = false;  // batch 0's keys all padded
  bool causal = false;            // L = S
};

// The kernels a device may use, each forced here so that every one runs on every device.
enum class Kernel { PerRow, Tiled, TiledSharedReduce, TiledSmallTiles, TiledSplit };

const char* kernel_name(Kernel k) {
  switch (k) {
    case Kernel::PerRow: return "PerRow";
    case Kernel::Tiled: return "Tiled";
    case Kernel::TiledSharedReduce: return "TiledSharedReduce";
    case Kernel::TiledSmallTiles: return "TiledSmallTiles";
    case Kernel::TiledSplit: return "TiledSplit";
  }
  return "?";
}

void force(vkfuse::Context& ctx, Kernel k) {
  auto& a = ctx.tuning().attention;
  a.tiled = k != Kernel::PerRow;
  if (k == Kernel::TiledSharedReduce) ctx.tuning().use_subgroups = false;
  if (k == Kernel::TiledSmallTiles) {  // workgroups of 32, tiles of 4 keys: many partial tiles
    a.tiled_wg = 32;
    a.bc = 4;
  }
  a.split_below = k == Kernel::TiledSplit ? 1u << 20 : 0u;  // split every sequence as far as it goes, or never
  vkfuse::check_tuning(ctx.tuning(), ctx.caps());
}

std::string name(const Case& c) {
  std::string n = "B" + std::to_string(c.b) + "H" + std::to_string(c.h) + "L" + std::to_string(c.l) + "S" +
                   std::to_string(c.s) + "D" + std::to_string(c.d);
  if (c.key_pad) n += "_keypad";
  if (c.attn_mask) n += "_mask";
  if (c.fully_masked_row) n += "_fullymasked";
  if (c.causal) n += "_causal";
  if (c.score == Score::NegEuclidean) n += "_euclid";
  if (c.score == Score::NegManhattan) n += "_manhattan";
  return n;
}

// Returns the largest |error| of the output; extra_tol widens the bound (fp16 math).
double check(vkfuse::Context& ctx, const Case& c, float extra_tol = 0.f) {
  const int64_t e = c.h * c.d;
  auto hq = vkt::random_vec(c.b * c.l * e, 81), hk = vkt::random_vec(c.b * c.s * e, 82);
  auto hv = vkt::random_vec(c.b * c.s * e, 83);
  std::vector<float> kp(c.b * c.s, 0.f), am = vkt::random_vec(c.l * c.s, 84);
  std::mt19937 g(85);
  for (auto& x : kp) x = (g() % 3 == 0) ? -kInf : 0.f;
  for (int64_t i = 0; i < c.b; ++i) kp[i * c.s + g() % c.s] = 0.f;  // at least one live key
  if (c.fully_masked_row)
    for (int64_t j = 0; j < c.s; ++j) kp[j] = -kInf;
  for (int64_t i = 0; i < c.l; ++i)
    for (int64_t j = 0; j < c.s; ++j)
      if (j > i + 1 && j % 2) am[i * c.s + j] = -kInf;  // some disallowed pairs, never a whole row

  Tensor tq = ctx.tensor({c.b, c.l, e}, hq), tk = ctx.tensor({c.b, c.s, e}, hk), tv = ctx.tensor({c.b, c.s, e}, hv);
  Tensor out = ctx.tensor({c.b, c.l, e}), w = ctx.tensor({c.b, c.l, c.s}), lse = ctx.tensor({c.b, c.h, c.l});
  Tensor tkp = ctx.tensor({c.b, c.s}, kp), tam = ctx.tensor({c.l, c.s}, am);
  // Heads as views of [B, rows, H·D]: no copies.
  auto heads = [&](const Tensor& t, int64_t rows) { return t.view({c.b, c.h, rows, c.d}, {rows * e, c.d, e, 1}, 0); };
  vkfuse::ops::AttentionOptions o;
  o.score = c.score;
  o.lse = &lse;
  if (c.key_pad || c.fully_masked_row) o.key_padding = &tkp;
  if (c.attn_mask) o.attn_mask = &tam;
  o.causal = c.causal;
  vkt::run_once(ctx, [&](vkfuse::Sequence& s) {
    vkfuse::ops::attention(s, heads(tq, c.l), heads(tk, c.s), heads(tv, c.s), heads(out, c.l), o);
    vkfuse::ops::attention_weights(s, heads(tq, c.l), heads(tk, c.s), w, o);
  });

  std::vector<float> q4(hq.size()), k4(hk.size()), v4(hv.size()), o4(hq.size()), want(hq.size()), ww(c.b * c.l * c.s);
  vkfuse::ref::split_heads(hq.data(), q4.data(), c.b, c.l, c.h, c.d);
  vkfuse::ref::split_heads(hk.data(), k4.data(), c.b, c.s, c.h, c.d);
  vkfuse::ref::split_heads(hv.data(), v4.data(), c.b, c.s, c.h, c.d);
  // The reference takes the causal mask as an explicit [L, S] one.
  std::vector<float> am_ref = c.attn_mask ? am : std::vector<float>(c.l * c.s, 0.f);
  if (c.causal)
    for (int64_t i = 0; i < c.l; ++i)
      for (int64_t j = i + 1; j < c.s; ++j) am_ref[i * c.s + j] = -kInf;
  const float* am_arg = c.attn_mask || c.causal ? am_ref.data() : nullptr;
  vkfuse::ref::attention(q4.data(), k4.data(), v4.data(), o4.data(), nullptr, c.b, c.h, c.l, c.s, c.d, c.score, 0.f,
                         o.key_padding ? kp.data() : nullptr, am_arg);
  vkfuse::ref::attention_weights(q4.data(), k4.data(), ww.data(), c.b, c.h, c.l, c.s, c.d, c.score, 0.f,
                                 o.key_padding ? kp.data() : nullptr, am_arg);
  vkfuse::ref::merge_heads(o4.data(), want.data(), c.b, c.l, c.h, c.d);  // back to [B, L, H·D]
  const float delta = float(c.d) * vkt::kEps / 2 * float(c.d) / std::sqrt(float(c.d)) * 4;
  const float tol = 4 * delta + 1e-6f + extra_tol;
  const auto got_out = out.read();
  EXPECT_TRUE(vkt::near_all(got_out, want, tol, 0.f)) << name(c) << " output";
  EXPECT_TRUE(vkt::near_all(w.read(), ww, tol, 0.f)) << name(c) << " weights";
  if (c.fully_masked_row) {
    auto got = out.read();
    for (int64_t i = 0; i < c.l * e; ++i) EXPECT_EQ(got[i], 0.f) << "fully masked row " << i;
  }
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(double(got_out[i]) - want[i]));
  return worst;
}

class Attention : public vkt::GpuTestP<std::tuple<Mode, Kernel, Case>> {};

TEST_P(Attention, MatchesReference) {
  auto [mode, kernel, c] = GetParam();
  auto& ctx = vkt::context(mode);
  force(ctx, kernel);
  check(ctx, c);
}

std::vector<Case> cases() {
  return {
      {1, 1, 1, 1, 8},
      {1, 2, 1, 9, 8},                       // decode-like L = 1
      {2, 3, 7, 1, 12},                      // S = 1
      {2, 2, 5, 13, 12, true},
      {1, 8, 32, 197, 32, true, true},       // cross: text to image
      {1, 3, 11, 300, 64, false, true},      // S beyond any tile
      {2, 2, 3, 17, 100, true},
      {2, 2, 4, 6, 8, true, false, Score::Dot, true},
      {1, 2, 5, 31, 16, true, true, Score::NegEuclidean},
      {2, 3, 4, 23, 12, false, true, Score::NegManhattan},
      {1, 1, 3, 5, 8, true, false, Score::NegEuclidean, true},
      {2, 3, 4, 9, 5, true, true},           // D = 5: rows off texel boundaries, storage-buffer path
      {1, 2, 3, 11, 300, true, true},        // D = 300: the wide path, 3 column chunks
      {2, 1, 2, 7, 257, false, false, Score::NegManhattan, true},
      {1, 2, 33, 33, 16, true, false, Score::Dot, false, true},           // causal, partial row blocks
      {2, 1, 37, 37, 8, false, true, Score::NegEuclidean, false, true},   // causal with a mask
      {1, 2, 45, 19, 64, true, true},        // partial row blocks and key tiles
      {1, 1, 5, 7, 128, true},
      {1, 1, 4, 9, 256, true, true, Score::NegManhattan},  // the largest head the tiled kernel takes
      {1, 2, 2, 1500, 32, true},             // long keys (decode-like: splits)
      {1, 1, 1, 3000, 8, false, true, Score::Dot},
  };
}

// The tiled kernel's other shapes (a pipeline per head size and score each, so a few cases
// that between them hold every mask kind, partial tiles, causal rows, all-masked rows,
// long keys and head sizes 8 to 256).
std::vector<Case> tile_cases() {
  return {
      {2, 2, 5, 13, 12, true},
      {2, 2, 4, 6, 8, true, false, Score::Dot, true},
      {2, 3, 4, 23, 12, false, true, Score::NegManhattan},
      {1, 2, 33, 33, 16, true, false, Score::Dot, false, true},
      {1, 2, 45, 19, 64, true, true},
      {1, 1, 5, 7, 128, true},
      {1, 1, 4, 9, 256, true, true, Score::Dot},
      {1, 2, 2, 1500, 32, true},
  };
}

std::string param_name(const ::testing::TestParamInfo<std::tuple<Mode, Kernel, Case>>& pi) {
  return std::string(vkt::mode_name(std::get<0>(pi.param))) + "_" + kernel_name(std::get<1>(pi.param)) + "_" +
         name(std::get<2>(pi.param));
}

INSTANTIATE_TEST_SUITE_P(Kernel, Attention,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable),
                                            ::testing::Values(Kernel::PerRow, Kernel::Tiled), ::testing::ValuesIn(cases())),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Tiles, Attention,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable),
                                            ::testing::Values(Kernel::TiledSmallTiles, Kernel::TiledSplit),
                                            ::testing::ValuesIn(tile_cases())),
                         param_name);
// Portable mode has no subgroups: its tiled runs above are the shared-memory reduction already.
INSTANTIATE_TEST_SUITE_P(SharedReduce, Attention,
                         ::testing::Combine(::testing::Values(Mode::Normal), ::testing::Values(Kernel::TiledSharedReduce),
                                            ::testing::ValuesIn(tile_cases())),
                         param_name);

// fp16 math (Tuning::Attention::fp16_math, opt-in): q, k and v rounded to fp16 and each
// score term's product or difference rounded again (u16 = 2^-11), summed in fp32. Rounding
// errors of random sign move a score by about 4·u16 (scale·√D·u16·|q·k| with |q·k| <= 1,
// times 4 as vkfuse check's bounds allow); an output, a convex mix of v, by twice the score's
// error plus v's own rounding: 9·u16 = 4.4e-3 (2.4e-4 measured at most). The fp32 kernel's
// tile logic is the same code, tested to the fp32 bound above.
// A device without shaderFloat16 (portable mode assumes none) refuses the option.
class AttentionFp16 : public vkt::GpuTestP<std::tuple<Mode, Case>> {};

TEST_P(AttentionFp16, WithinItsBound) {
  auto [mode, c] = GetParam();
  auto& ctx = vkt::context(mode);
  ctx.tuning().attention.tiled = true;
  ctx.tuning().attention.fp16_math = true;
  if (!ctx.caps().float16_arithmetic) {
    EXPECT_THROW(vkfuse::check_tuning(ctx.tuning(), ctx.caps()), vkfuse::Error);
    return;
  }
  vkfuse::check_tuning(ctx.tuning(), ctx.caps());
  const float bound = 9.f / 2048;
  const double worst = check(ctx, c, bound);
  std::printf("attention fp16 math %s: largest |error| %.3g (bound %.3g)\n", name(c).c_str(), worst, bound);
  // fp32 math stays near 1e-7 here: an error this small means the fp16 kernel did not run.
  EXPECT_GT(worst, 2e-6) << "fp16 rounding should show: is the fp16 kernel running?";
}

INSTANTIATE_TEST_SUITE_P(Tiled, AttentionFp16,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable), ::testing::ValuesIn(tile_cases())),
                         [](const auto& pi) {
                           return std::string(vkt::mode_name(std::get<0>(pi.param))) + "_" + name(std::get<1>(pi.param));
                         });

// Tens of thousands of keys at the largest head size: one workgroup's share of the keys is
// past lavapipe's loop budget, so the tiled kernel splits them over workgroups even with
// split_below 0, and every key counts (lavapipe would silently drop the rest).
class AttentionLongKeys : public vkt::GpuTestP<Mode> {};

TEST_P(AttentionLongKeys, TiledSplitsPastTheLoopBudget) {
  auto& ctx = vkt::context(GetParam());
  force(ctx, Kernel::Tiled);
  check(ctx, {1, 1, 2, 30000, 256, true});
}

INSTANTIATE_TEST_SUITE_P(Tiled, AttentionLongKeys, ::testing::Values(Mode::Normal, Mode::Portable),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

class AttentionErrors : public vkt::GpuTest {};

TEST_F(AttentionErrors, RejectsBadShapes) {
  auto& ctx = vkt::context(Mode::Normal);
  Tensor q = ctx.tensor({1, 2, 3, 8}), k = ctx.tensor({1, 2, 5, 8}), o = ctx.tensor({1, 2, 3, 8});
  Tensor k_bad = ctx.tensor({1, 2, 5, 4}), mask = ctx.tensor({3, 4});
  vkfuse::Sequence s(ctx);
  EXPECT_THROW(vkfuse::ops::attention(s, q, k_bad, k_bad, o), vkfuse::Error);  // D differs
  Tensor wide_q = ctx.tensor({1, 1, 1, 1024}), wide_kv = ctx.tensor({1, 1, 5000, 1024});
  try {  // 5,000 keys x 129 loop steps each exceed one invocation's loop budget
    vkfuse::ops::attention(s, wide_q, wide_kv, wide_kv, ctx.tensor({1, 1, 1, 1024}));
    FAIL() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("loop"), std::string::npos) << e.what();
  }
  vkfuse::ops::AttentionOptions ao;
  ao.attn_mask = &mask;  // [3, 4] but S = 5
  try {
    vkfuse::ops::attention(s, q, k, k, o, ao);
    FAIL() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("attention mask"), std::string::npos) << e.what();
  }
}

}  // namespace
