// The transformer encoder on the GPU against its CPU reference, with random weights: post-
// and pre-norm, relu and gelu, padding and causal masks, odd sizes, batches above one.
// Tolerance: every layer is a few fp32 matmuls and layer norms over at most 72 features
// around the attention of test_attention.cpp, and layer norm rescales errors by 1/std (~1
// here); 1e-4 absolute on O(1) outputs covers up to 3 layers.
#include "gpu_test.hpp"
#include "vkfuse/transformer.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

struct Case {
  int64_t e, heads, ff, layers, b, l;
  bool gelu, norm_first, final_norm, masks;
};

vkfuse::TransformerConfig config(const Case& k) {
  vkfuse::TransformerConfig c;
  c.d_model = k.e;
  c.nhead = k.heads;
  c.dim_feedforward = k.ff;
  c.num_layers = k.layers;
  c.activation = k.gelu ? vkfuse::ops::Activation::Gelu : vkfuse::ops::Activation::Relu;
  c.norm_first = k.norm_first;
  c.final_norm = k.final_norm;
  return c;
}

vkfuse::WeightMap weights(const vkfuse::TransformerConfig& c) {
  vkfuse::WeightMap w;
  uint32_t seed = 200;
  for (const auto& [name, shape] : c.encoder_tensors()) {
    bool norm_weight = name.find("norm") != std::string::npos && name.find("weight") != std::string::npos;
    w[name] = norm_weight ? vkt::random_vec(vkfuse::shape_numel(shape), seed++, 0.5f, 1.5f)
                          : vkt::random_vec(vkfuse::shape_numel(shape), seed++, -0.2f, 0.2f);
  }
  return w;
}

void check(vkfuse::Context& ctx, const Case& k) {
  auto c = config(k);
  auto w = weights(c);
  vkfuse::TransformerEncoder enc(ctx, c, w);
  auto x = vkt::random_vec(k.b * k.l * k.e, 210);
  std::vector<uint8_t> pad(k.b * k.l, 0), causal(k.l * k.l, 0);
  for (int64_t i = 0; i < k.l; ++i)
    for (int64_t j = i + 1; j < k.l; ++j) causal[i * k.l + j] = 1;
  if (k.b > 1) pad[2 * k.l - 1] = pad[2 * k.l - 2] = 1;  // the tail of batch row 1
  auto kp = vkfuse::additive_mask(pad), am = vkfuse::additive_mask(causal);
  Tensor src = ctx.tensor({k.b, k.l, k.e}, x), out = ctx.tensor({k.b, k.l, k.e});
  Tensor tkp = ctx.tensor({k.b, k.l}, kp), tam = ctx.tensor({k.l, k.l}, am);
  vkfuse::AttentionMasks m;
  if (k.masks) {
    m.key_padding = &tkp;
    m.attn_mask = &tam;
  }
  vkfuse::Sequence s(ctx);
  enc.record(s, src, out, m);
  s.run();
  std::vector<float> want(x.size());
  vkfuse::ref::transformer_encoder(c, w, "", x.data(), k.b, k.l, k.masks ? kp.data() : nullptr,
                                   k.masks ? am.data() : nullptr, want.data());
  EXPECT_TRUE(vkt::near_all(out.read(), want, 1e-4f, 0.f));
  // Seven dispatches a layer (plus the final norm).
  EXPECT_EQ(s.dispatch_count(), size_t(7 * k.layers + (k.final_norm ? 1 : 0)));
}

class Encoder : public vkt::GpuTestP<Mode> {};

TEST_P(Encoder, PostNormRelu) { check(vkt::context(GetParam()), {16, 2, 32, 2, 2, 5, false, false, false, false}); }
TEST_P(Encoder, PreNormGeluFinalNormMasks) { check(vkt::context(GetParam()), {40, 5, 24, 2, 2, 7, true, true, true, true}); }
TEST_P(Encoder, Width72SixHeadsMasks) { check(vkt::context(GetParam()), {72, 6, 48, 1, 3, 9, true, false, false, true}); }
TEST_P(Encoder, ThreeLayersBatchOne) { check(vkt::context(GetParam()), {24, 6, 40, 3, 1, 6, false, true, false, true}); }

// Replay: one recording, several inputs, each gives its own answer.
TEST_P(Encoder, ReplaysWithNewInputs) {
  auto& ctx = vkt::context(GetParam());
  Case k{16, 2, 32, 2, 2, 5, true, false, true, false};
  auto c = config(k);
  auto w = weights(c);
  vkfuse::TransformerEncoder enc(ctx, c, w);
  Tensor src = ctx.tensor({k.b, k.l, k.e}), out = ctx.tensor({k.b, k.l, k.e});
  vkfuse::Sequence s(ctx);
  s.upload(src);
  enc.record(s, src, out);
  s.download(out);
  for (uint32_t seed = 0; seed < 3; ++seed) {
    auto x = vkt::random_vec(k.b * k.l * k.e, 300 + seed);
    src.write_host(x.data(), x.size() * 4);
    s.run();
    std::vector<float> got(x.size()), want(x.size());
    out.read_host(got.data(), got.size() * 4);
    vkfuse::ref::transformer_encoder(c, w, "", x.data(), k.b, k.l, nullptr, nullptr, want.data());
    EXPECT_TRUE(vkt::near_all(got, want, 1e-4f, 0.f)) << "run " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Network, Encoder, ::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                         [](const auto& pi) { return vkt::mode_name(pi.param); });

}  // namespace
