// The multi-head attention module on the GPU against its CPU reference, with random weights.
// Tolerance: three fp32 projections of K <= 48 terms each (|x| <= 1, |w| <= 0.3) around the
// attention kernel (see test_attention.cpp); outputs are O(1), so 2e-5 absolute covers the
// projections' γ_K·Σ|x·w| (< 1e-5) and the attention's bound.
#include <limits>

#include "gpu_test.hpp"
#include "vkfuse/multihead_attention.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

struct Case {
  int64_t e, h, kdim, vdim, b, l, s;
  bool bias = true, self = false, masks = false;
  vkfuse::ops::Score score = vkfuse::ops::Score::Dot;
  bool kv_same = false;  // one memory tensor as key and value (cross-attention in a decoder)
};

vkfuse::WeightMap random_weights(const vkfuse::MultiheadAttentionConfig& c, uint32_t seed) {
  vkfuse::WeightMap w;
  for (const auto& [name, shape] : c.tensors()) w[name] = vkt::random_vec(vkfuse::shape_numel(shape), seed++, -0.3f, 0.3f);
  return w;
}

void check(vkfuse::Context& ctx, const Case& k) {
  vkfuse::MultiheadAttentionConfig c;
  c.embed_dim = k.e;
  c.num_heads = k.h;
  c.kdim = k.kdim;
  c.vdim = k.vdim;
  c.bias = k.bias;
  c.score = k.score;
  auto w = random_weights(c, 90);
  vkfuse::MultiheadAttention mha(ctx, c, w);
  const int64_t s = k.self ? k.l : k.s;
  auto hq = vkt::random_vec(k.b * k.l * k.e, 91);
  auto hk = k.self ? hq : vkt::random_vec(k.b * s * c.k_dim(), 92);
  auto hv = k.self ? hq : k.kv_same ? hk : vkt::random_vec(k.b * s * c.v_dim(), 93);
  std::vector<uint8_t> pad(k.b * s, 0), causal(k.l * s, 0);
  for (int64_t i = 0; i < k.b * s; ++i) pad[i] = (i % 5 == 3);
  for (int64_t i = 0; i < k.l; ++i)
    for (int64_t j = i + 2; j < s; ++j) causal[i * s + j] = 1;
  auto kp = vkfuse::additive_mask(pad), am = vkfuse::additive_mask(causal);

  Tensor q = ctx.tensor({k.b, k.l, k.e}, hq);
  Tensor key = k.self ? q : ctx.tensor({k.b, s, c.k_dim()}, hk);
  Tensor value = k.self ? q : k.kv_same ? key : ctx.tensor({k.b, s, c.v_dim()}, hv);
  Tensor out = ctx.tensor({k.b, k.l, k.e}), wts = ctx.tensor({k.b, k.l, s});
  Tensor tkp = ctx.tensor({k.b, s}, kp), tam = ctx.tensor({k.l, s}, am);
  vkfuse::AttentionMasks m;
  if (k.masks) {
    m.key_padding = &tkp;
    m.attn_mask = &tam;
  }
  vkt::run_once(ctx, [&](vkfuse::Sequence& sq) { mha.record(sq, q, key, value, out, m, &wts); });

  std::vector<float> want(k.b * k.l * k.e), ww(k.b * k.l * s);
  vkfuse::ref::multihead_attention(c, w, hq.data(), hk.data(), hv.data(), k.b, k.l, s,
                                   k.masks ? kp.data() : nullptr, k.masks ? am.data() : nullptr, want.data(),
                                   ww.data());
  EXPECT_TRUE(vkt::near_all(out.read(), want, 2e-5f, 0.f)) << "output";
  EXPECT_TRUE(vkt::near_all(wts.read(), ww, 2e-5f, 0.f)) << "weights";
}

class MultiheadAttentionTest : public vkt::GpuTestP<Mode> {};

TEST_P(MultiheadAttentionTest, SelfAttentionOneProjection) { check(vkt::context(GetParam()), {16, 2, 0, 0, 2, 7, 7, true, true, true}); }
TEST_P(MultiheadAttentionTest, CrossAttentionKdimVdim) { check(vkt::context(GetParam()), {24, 3, 10, 6, 2, 5, 13, true, false, true}); }
TEST_P(MultiheadAttentionTest, TextToImage) { check(vkt::context(GetParam()), {48, 4, 0, 0, 1, 9, 50}); }
TEST_P(MultiheadAttentionTest, CrossOverOneMemory) {
  check(vkt::context(GetParam()), {24, 3, 0, 0, 2, 5, 11, true, false, true, vkfuse::ops::Score::Dot, true});
  check(vkt::context(GetParam()), {16, 2, 0, 0, 1, 3, 7, false, false, false, vkfuse::ops::Score::Dot, true});
}
TEST_P(MultiheadAttentionTest, NoBias) { check(vkt::context(GetParam()), {20, 5, 0, 0, 2, 3, 4, false}); }
TEST_P(MultiheadAttentionTest, NegEuclidean) {
  check(vkt::context(GetParam()), {16, 2, 0, 0, 2, 4, 6, true, false, true, vkfuse::ops::Score::NegEuclidean});
}

TEST_P(MultiheadAttentionTest, RejectsWrongWeightsAndShapes) {
  auto& ctx = vkt::context(GetParam());
  vkfuse::MultiheadAttentionConfig c;
  c.embed_dim = 8;
  c.num_heads = 2;
  auto w = random_weights(c, 1);
  w.erase("out_proj.bias");
  EXPECT_THROW(vkfuse::MultiheadAttention(ctx, c, w), vkfuse::Error);
  w = random_weights(c, 1);
  w["bias_k"] = {1.f};
  EXPECT_THROW(vkfuse::MultiheadAttention(ctx, c, w), vkfuse::Error);
  c.num_heads = 3;
  EXPECT_THROW(vkfuse::MultiheadAttention(ctx, c, random_weights(c, 1)), vkfuse::Error);
  c.num_heads = 2;
  vkfuse::MultiheadAttention mha(ctx, c, random_weights(c, 1));
  Tensor q = ctx.tensor({1, 3, 8}), kk = ctx.tensor({1, 4, 8}), v = ctx.tensor({1, 5, 8}), o = ctx.tensor({1, 3, 8});
  vkfuse::Sequence s(ctx);
  try {
    mha.record(s, q, kk, v, o);
    FAIL() << "no error";
  } catch (const vkfuse::Error& e) {
    EXPECT_NE(std::string(e.what()).find("key length"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Module, MultiheadAttentionTest, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
