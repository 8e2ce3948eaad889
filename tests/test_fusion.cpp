// The decoder and the vision-text fusion model on the GPU against their CPU references with
// random weights, at odd sizes (d_model 40 with 5 heads, 72 with 6), both norm orders,
// masks and batches above one. Tolerance as test_transformer.cpp: 1e-4 on O(1) values (the
// fusion model's logits come from a 2E-wide head over pooled features; 2e-4 there).
#include "gpu_test.hpp"
#include "vkfuse/fusion.hpp"

using vkfuse::Tensor;
using vkt::Mode;

namespace {

vkfuse::WeightMap weights(const std::vector<std::pair<std::string, vkfuse::Shape>>& names) {
  vkfuse::WeightMap w;
  uint32_t seed = 400;
  for (const auto& [name, shape] : names) {
    bool norm_weight = name.find("norm") != std::string::npos && name.find("weight") != std::string::npos;
    w[name] = norm_weight ? vkt::random_vec(vkfuse::shape_numel(shape), seed++, 0.5f, 1.5f)
                          : vkt::random_vec(vkfuse::shape_numel(shape), seed++, -0.2f, 0.2f);
  }
  return w;
}

class Decoder : public vkt::GpuTestP<std::tuple<Mode, bool>> {};

TEST_P(Decoder, MatchesReference) {
  auto [mode, norm_first] = GetParam();
  auto& ctx = vkt::context(mode);
  vkfuse::TransformerConfig c;
  c.d_model = 40;
  c.nhead = 5;
  c.dim_feedforward = 24;
  c.num_layers = 2;
  c.activation = norm_first ? vkfuse::ops::Activation::Gelu : vkfuse::ops::Activation::Relu;
  c.norm_first = norm_first;
  c.final_norm = norm_first;
  auto w = weights(c.decoder_tensors());
  const int64_t b = 2, l = 5, s = 7, e = c.d_model;
  auto tgt = vkt::random_vec(b * l * e, 410), mem = vkt::random_vec(b * s * e, 411);
  std::vector<uint8_t> tpad(b * l, 0), mpad(b * s, 0), causal(l * l, 0);
  tpad[2 * l - 1] = 1;
  mpad[s - 1] = mpad[s - 2] = 1;
  for (int64_t i = 0; i < l; ++i)
    for (int64_t j = i + 1; j < l; ++j) causal[i * l + j] = 1;
  auto tp = vkfuse::additive_mask(tpad), mp = vkfuse::additive_mask(mpad), cm = vkfuse::additive_mask(causal);
  vkfuse::TransformerDecoder dec(ctx, c, w);
  Tensor tt = ctx.tensor({b, l, e}, tgt), tm = ctx.tensor({b, s, e}, mem), out = ctx.tensor({b, l, e});
  Tensor cw = ctx.tensor({b, l, s}), ttp = ctx.tensor({b, l}, tp), tmp = ctx.tensor({b, s}, mp), tcm = ctx.tensor({l, l}, cm);
  vkfuse::DecoderMasks masks;
  masks.self = {&ttp, &tcm};
  masks.cross = {&tmp, nullptr};
  vkt::run_once(ctx, [&](vkfuse::Sequence& sq) { dec.record(sq, tt, tm, out, masks, &cw); });
  std::vector<float> want(b * l * e), wcw(b * l * s);
  vkfuse::ref::transformer_decoder(c, w, "", tgt.data(), mem.data(), b, l, s, tp.data(), cm.data(), mp.data(), nullptr,
                                   want.data(), wcw.data());
  EXPECT_TRUE(vkt::near_all(out.read(), want, 1e-4f, 0.f)) << "output";
  EXPECT_TRUE(vkt::near_all(cw.read(), wcw, 1e-4f, 0.f)) << "cross_attn_weights";
}

INSTANTIATE_TEST_SUITE_P(Network, Decoder,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                                            ::testing::Bool()),
                         [](const auto& pi) {
                           return std::string(vkt::mode_name(std::get<0>(pi.param))) +
                                  (std::get<1>(pi.param) ? "_PreNorm" : "_PostNorm");
                         });

class Fusion : public vkt::GpuTestP<std::tuple<Mode, bool>> {};

TEST_P(Fusion, MatchesReference) {
  auto [mode, variant] = GetParam();
  auto& ctx = vkt::context(mode);
  vkfuse::FusionConfig f;
  f.layer.d_model = 72;
  f.layer.nhead = 6;
  f.layer.dim_feedforward = 40;
  f.layer.activation = variant ? vkfuse::ops::Activation::Gelu : vkfuse::ops::Activation::Relu;
  f.layer.norm_first = variant;
  f.in_channels = 2;
  f.image_size = 9;
  f.patch_size = 3;
  f.use_cls_token = !variant;
  f.vision_layers = 1;
  f.vocab_size = 30;
  f.max_text_len = 8;
  f.text_layers = 1;
  f.pad_token_id = 0;
  f.fusion_layers = 2;
  f.bidirectional = !variant;
  f.joint_layers = 1;
  f.pool_cls = !variant;
  f.num_outputs = 3;
  f.output_activation = variant ? vkfuse::FusionConfig::Output::Softmax : vkfuse::FusionConfig::Output::Sigmoid;
  auto w = weights(f.tensors());
  const int64_t b = 2, t = 6;
  std::vector<int64_t> ids = {5, 9, 2, 0, 0, 0, 7, 7, 1, 3, 4, 0};  // padding by pad_token_id
  auto batch = vkfuse::FusionBatch::make(f, vkt::random_vec(b * 2 * 9 * 9, 420), b, ids, t, nullptr);
  vkfuse::VisionTextFusion model(ctx, f, w);
  auto got = model.run(batch, true);
  auto want = vkfuse::ref::vision_text_fusion(f, w, batch, true);
  EXPECT_TRUE(vkt::near_all(got.logits, want.logits, 2e-4f, 0.f)) << "logits";
  EXPECT_TRUE(vkt::near_all(got.probs, want.probs, 2e-4f, 0.f)) << "probs";
  // Rows of padded tokens are free (the spec does not compare them): compare real rows only.
  const int64_t nv = f.image_tokens();
  for (int64_t i = 0; i < b * t; ++i) {
    if (!batch.real[i]) continue;
    std::vector<float> g(got.cross_weights.begin() + i * nv, got.cross_weights.begin() + (i + 1) * nv);
    std::vector<float> r(want.cross_weights.begin() + i * nv, want.cross_weights.begin() + (i + 1) * nv);
    EXPECT_TRUE(vkt::near_all(g, r, 1e-4f, 0.f)) << "cross_attn_weights row " << i;
  }
  EXPECT_THROW(vkfuse::FusionBatch::make(f, batch.image, b, {1, 2, 3, 4, 5, 30, 1, 1, 1, 1, 1, 1}, t, nullptr),
               vkfuse::Error);  // id 30 is outside a vocabulary of 30
}

INSTANTIATE_TEST_SUITE_P(Network, Fusion,
                         ::testing::Combine(::testing::Values(Mode::Normal, Mode::Portable, Mode::Staged),
                                            ::testing::Bool()),
                         [](const auto& pi) {
                           return std::string(vkt::mode_name(std::get<0>(pi.param))) +
                                  (std::get<1>(pi.param) ? "_MeanTextToImagePreNorm" : "_ClsBidirectional");
                         });

}  // namespace
