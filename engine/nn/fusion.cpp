// The vision-text fusion model: front ends, towers, fusion layers, joint encoder, pooling and
// head on the GPU; and its CPU reference, the spec's forward pass line by line.
#include "vkfuse/fusion.hpp"

#include <cmath>
#include <limits>

#include "vkfuse/error.hpp"
#include "runtime/workspace.h"
#include "vkfuse/reference.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse {

TransformerConfig FusionConfig::encoder(int64_t layers) const {
  TransformerConfig t = layer;
  t.num_layers = layers;
  t.final_norm = false;
  return t;
}

void FusionConfig::validate() const {
  auto fail = [](const std::string& m) { throw Error("vision_text_fusion config: " + m); };
  layer.validate();
  if (in_channels <= 0 || image_size <= 0 || patch_size <= 0) fail("in_channels, image_size, patch_size must be positive");
  if (image_size % patch_size) fail("image_size " + std::to_string(image_size) + " is not a multiple of patch_size " +
                                    std::to_string(patch_size));
  if (vocab_size <= 0 || max_text_len <= 0) fail("vocab_size and max_text_len must be positive");
  if (pad_token_id < 0 || pad_token_id >= vocab_size) fail("pad_token_id is outside the vocabulary");
  if (vision_layers < 0 || text_layers < 0 || fusion_layers < 0 || joint_layers < 0) fail("layer counts must not be negative");
  if (pool_cls && !use_cls_token) fail("pooling \"cls\" needs use_cls_token");
  if (num_outputs <= 0) fail("num_outputs must be positive");
}

std::vector<std::pair<std::string, Shape>> FusionConfig::tensors() const {
  const int64_t e = layer.d_model, c = in_channels, p = patch_size;
  std::vector<std::pair<std::string, Shape>> t = {{"vision.patch_embed.weight", {e, c, p, p}},
                                                  {"vision.patch_embed.bias", {e}}};
  if (use_cls_token) t.push_back({"vision.cls_token", {1, 1, e}});
  t.push_back({"vision.pos_embed", {1, image_tokens(), e}});
  auto add = [&](const std::vector<std::pair<std::string, Shape>>& v) { t.insert(t.end(), v.begin(), v.end()); };
  add(encoder(vision_layers).encoder_tensors("vision.encoder."));
  t.push_back({"vision.norm.weight", {e}});
  t.push_back({"vision.norm.bias", {e}});
  t.push_back({"text.token_embed.weight", {vocab_size, e}});
  t.push_back({"text.pos_embed", {1, max_text_len, e}});
  add(encoder(text_layers).encoder_tensors("text.encoder."));
  t.push_back({"text.norm.weight", {e}});
  t.push_back({"text.norm.bias", {e}});
  for (int64_t i = 0; i < fusion_layers; ++i) {
    const std::string p0 = "fusion.layers." + std::to_string(i) + ".";
    add(layer.decoder_layer_tensors(p0 + "text_to_image."));
    if (bidirectional) add(layer.decoder_layer_tensors(p0 + "image_to_text."));
  }
  add(encoder(joint_layers).encoder_tensors("joint."));
  t.push_back({"head.weight", {num_outputs, 2 * e}});
  t.push_back({"head.bias", {num_outputs}});
  return t;
}

FusionBatch FusionBatch::make(const FusionConfig& c, std::vector<float> image, int64_t b, const std::vector<int64_t>& ids,
                              int64_t t, const std::vector<uint8_t>* attention_mask) {
  FusionBatch f;
  f.b = b;
  f.t = t;
  f.image = std::move(image);
  f.ids.resize(ids.size());
  f.real.resize(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= c.vocab_size)
      throw Error("input_ids[" + std::to_string(i / t) + ", " + std::to_string(i % t) + "] = " + std::to_string(ids[i]) +
                  " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
    f.ids[i] = static_cast<int32_t>(ids[i]);
    f.real[i] = attention_mask ? ((*attention_mask)[i] != 0) : (ids[i] != c.pad_token_id);
  }
  return f;
}

std::vector<float> FusionBatch::text_pad() const {
  std::vector<uint8_t> pad(real.size());
  for (size_t i = 0; i < pad.size(); ++i) pad[i] = !real[i];
  return additive_mask(pad);
}

std::vector<float> FusionBatch::joint_pad(const FusionConfig& c) const {
  const int64_t n = t + c.image_tokens();
  std::vector<uint8_t> pad(static_cast<size_t>(b * n), 0);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t i = 0; i < t; ++i) pad[ib * n + i] = !real[ib * t + i];
  return additive_mask(pad);
}

std::vector<float> FusionBatch::pool_text(const FusionConfig& c) const {
  std::vector<float> w(static_cast<size_t>(b * t), 0.f);
  for (int64_t ib = 0; ib < b; ++ib) {
    if (c.pool_cls) {
      w[ib * t] = 1.f;
      continue;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < t; ++i) n += real[ib * t + i];
    for (int64_t i = 0; i < t; ++i) w[ib * t + i] = n ? float(real[ib * t + i]) / float(n) : 0.f;
  }
  return w;
}

std::vector<float> FusionBatch::pool_image(const FusionConfig& c) const {
  const int64_t nv = c.image_tokens();
  std::vector<float> w(static_cast<size_t>(nv), c.pool_cls ? 0.f : 1.f / float(nv));
  if (c.pool_cls) w[0] = 1.f;
  return w;
}

namespace {
const std::vector<float>& need(const WeightMap& w, const std::string& name) {
  auto it = w.find(name);
  if (it == w.end()) throw Error("vision_text_fusion: tensor '" + name + "' is missing");
  return it->second;
}
}  // namespace

struct VisionTextFusion::Impl {
  Context ctx;
  FusionConfig c;
  Tensor patch_w, patch_b, cls, pos, vnorm_w, vnorm_b, tok, tpos, tnorm_w, tnorm_b, head_w, head_b;
  std::unique_ptr<TransformerEncoder> vision, text, joint;
  std::vector<std::unique_ptr<TransformerDecoderLayer>> t2i, i2t;
  Impl(Context& cx, const FusionConfig& cfg, const WeightMap& w) : ctx(cx), c(cfg) {
    c.validate();
    const int64_t e = c.layer.d_model, cpp = c.in_channels * c.patch_size * c.patch_size;
    patch_w = ctx.matrix(e, cpp, need(w, "vision.patch_embed.weight"));  // [E, C, P, P] as [E, C·P·P]
    patch_b = ctx.tensor({e}, need(w, "vision.patch_embed.bias"));
    if (c.use_cls_token) cls = ctx.tensor({1, 1, e}, need(w, "vision.cls_token"));
    pos = ctx.tensor({1, c.image_tokens(), e}, need(w, "vision.pos_embed"));
    vnorm_w = ctx.tensor({e}, need(w, "vision.norm.weight"));
    vnorm_b = ctx.tensor({e}, need(w, "vision.norm.bias"));
    tok = ctx.tensor({c.vocab_size, e}, need(w, "text.token_embed.weight"));
    tpos = ctx.tensor({c.max_text_len, e}, need(w, "text.pos_embed"));
    tnorm_w = ctx.tensor({e}, need(w, "text.norm.weight"));
    tnorm_b = ctx.tensor({e}, need(w, "text.norm.bias"));
    head_w = ctx.matrix(c.num_outputs, 2 * e, need(w, "head.weight"));
    head_b = ctx.tensor({c.num_outputs}, need(w, "head.bias"));
    vision = std::make_unique<TransformerEncoder>(ctx, c.encoder(c.vision_layers), w, "vision.encoder.");
    text = std::make_unique<TransformerEncoder>(ctx, c.encoder(c.text_layers), w, "text.encoder.");
    joint = std::make_unique<TransformerEncoder>(ctx, c.encoder(c.joint_layers), w, "joint.");
    for (int64_t i = 0; i < c.fusion_layers; ++i) {
      const std::string p = "fusion.layers." + std::to_string(i) + ".";
      t2i.push_back(std::make_unique<TransformerDecoderLayer>(ctx, c.layer, w, p + "text_to_image."));
      if (c.bidirectional) i2t.push_back(std::make_unique<TransformerDecoderLayer>(ctx, c.layer, w, p + "image_to_text."));
    }
  }
};

VisionTextFusion::VisionTextFusion(Context& ctx, const FusionConfig& config, const WeightMap& weights)
    : impl_(std::make_unique<Impl>(ctx, config, weights)) {}
VisionTextFusion::~VisionTextFusion() = default;

void VisionTextFusion::record(Sequence& s, const Inputs& in, const Tensor& logits, const Tensor& probs,
                              const Tensor* weights) {
  Impl& m = *impl_;
  const auto& c = m.c;
  const int64_t e = c.layer.d_model, b = in.image.dim(0), t = in.ids.dim(1), nv = c.image_tokens();
  const int64_t g = c.grid(), p = c.patch_size, ch = c.in_channels, hw = c.image_size;
  // Vision: patches (a strided copy), Conv2d as a matmul straight into the token rows after
  // the class token, the class token, positional embeddings, encoder, norm.
  detail::Scratch scratch(s);
  Tensor patches = scratch({b, g * g, ch * p * p});
  ops::copy(s, in.image.view({b, g, g, ch, p, p}, {ch * hw * hw, p * hw, p, hw * hw, hw, 1}, in.image.offset()),
            patches.reshape({b, g, g, ch, p, p}));
  Tensor v0 = scratch({b, nv, e}), v1 = scratch({b, nv, e});
  const int64_t first = c.use_cls_token ? 1 : 0;
  ops::MatmulOptions lin;
  lin.trans_b = true;
  lin.bias = &m.patch_b;
  ops::matmul(s, patches, m.patch_w, v0.view({b, g * g, e}, {nv * e, e, 1}, first * e), lin);
  if (c.use_cls_token) ops::copy(s, m.cls.view({b, 1, e}, {0, e, 1}, 0), v0.view({b, 1, e}, {nv * e, e, 1}, 0));
  ops::add(s, v0, m.pos, v1);
  scratch.give_back(patches);
  scratch.give_back(v0);
  Tensor v2 = scratch({b, nv, e});
  m.vision->record(s, v1, v2);
  scratch.give_back(v1);
  Tensor v = scratch({b, nv, e});
  ops::LayerNormOptions ln;
  ln.eps = c.layer.layer_norm_eps;
  ln.weight = &m.vnorm_w;
  ln.bias = &m.vnorm_b;
  ops::layer_norm(s, v2, v, ln);
  scratch.give_back(v2);
  // Text: embedding rows, positional embeddings, encoder over the real tokens, norm.
  Tensor t0 = scratch({b, t, e}), t1 = scratch({b, t, e});
  ops::gather_rows(s, m.tok, in.ids, t0);
  ops::add(s, t0, m.tpos.view({t, e}, {e, 1}, 0), t1);
  scratch.give_back(t0);
  Tensor t2 = scratch({b, t, e});
  AttentionMasks text_masks;
  text_masks.key_padding = &in.text_pad;
  m.text->record(s, t1, t2, text_masks);
  scratch.give_back(t1);
  Tensor tx = scratch({b, t, e});
  ln.weight = &m.tnorm_w;
  ln.bias = &m.tnorm_b;
  ops::layer_norm(s, t2, tx, ln);
  scratch.give_back(t2);
  // Fusion: both directions read the old t and v.
  Tensor cur_t = tx, cur_v = v;
  for (int64_t i = 0; i < c.fusion_layers; ++i) {
    Tensor nt = scratch({b, t, e});
    DecoderMasks to_image;
    to_image.self.key_padding = &in.text_pad;
    const bool last = i + 1 == c.fusion_layers;
    m.t2i[i]->record(s, cur_t, cur_v, nt, to_image, last ? weights : nullptr);
    if (c.bidirectional) {
      Tensor nvt = scratch({b, nv, e});
      DecoderMasks to_text;
      to_text.cross.key_padding = &in.text_pad;
      m.i2t[i]->record(s, cur_v, cur_t, nvt, to_text);
      scratch.give_back(cur_v);
      cur_v = nvt;
    }
    scratch.give_back(cur_t);
    cur_t = nt;
  }
  // Joint encoder over [t; v], then pooling: the class rows, or means as two batched matmuls
  // with per-batch weights (real tokens only for the text).
  Tensor x = scratch({b, t + nv, e});
  ops::copy(s, cur_t, x.view({b, t, e}, {(t + nv) * e, e, 1}, 0));
  ops::copy(s, cur_v, x.view({b, nv, e}, {(t + nv) * e, e, 1}, t * e));
  scratch.give_back(cur_t);
  scratch.give_back(cur_v);
  Tensor x2 = scratch({b, t + nv, e});
  AttentionMasks joint_masks;
  joint_masks.key_padding = &in.joint_pad;
  m.joint->record(s, x, x2, joint_masks);
  scratch.give_back(x);
  Tensor feat = scratch({b, 2 * e});
  if (c.pool_cls) {
    // t[:, 0] and v[:, 0] are rows 0 and T of x2: one strided copy, not two one-hot matmuls.
    ops::copy(s, x2.view({b, 2, e}, {(t + nv) * e, t * e, 1}, 0), feat.view({b, 2, e}, {2 * e, e, 1}, 0));
  } else {
    ops::matmul(s, in.pool_text, x2.view({b, t, e}, {(t + nv) * e, e, 1}, 0), feat.view({b, 1, e}, {2 * e, e, 1}, 0));
    ops::matmul(s, in.pool_image, x2.view({b, nv, e}, {(t + nv) * e, e, 1}, t * e),
                feat.view({b, 1, e}, {2 * e, e, 1}, e));
  }
  ops::MatmulOptions head;
  head.trans_b = true;
  head.bias = &m.head_b;
  ops::matmul(s, feat, m.head_w, logits, head);
  if (c.output_activation == FusionConfig::Output::Sigmoid)
    ops::sigmoid(s, logits, probs);
  else if (c.output_activation == FusionConfig::Output::Softmax)
    ops::softmax(s, logits, probs);
  else
    ops::copy(s, logits, probs);
}

FusionOutputs VisionTextFusion::run(const FusionBatch& batch, bool need_weights) {
  Impl& m = *impl_;
  const auto& c = m.c;
  Context& ctx = m.ctx;
  const int64_t b = batch.b, t = batch.t, nv = c.image_tokens();
  // gather_rows trusts its ids: one outside the table would read past it.
  for (size_t i = 0; i < batch.ids.size(); ++i)
    if (batch.ids[i] < 0 || batch.ids[i] >= c.vocab_size)
      throw Error("vision_text_fusion: token id " + std::to_string(batch.ids[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  if (static_cast<int64_t>(batch.ids.size()) != b * t || static_cast<int64_t>(batch.real.size()) != b * t)
    throw Error("vision_text_fusion: the batch's ids and padding do not hold B x T entries");
  Inputs in;
  in.image = ctx.tensor({b, c.in_channels, c.image_size, c.image_size}, batch.image);
  in.ids = ctx.tensor({b, t}, DType::I32);
  in.ids.write(batch.ids.data(), batch.ids.size() * 4);
  in.text_pad = ctx.tensor({b, t}, batch.text_pad());
  in.joint_pad = ctx.tensor({b, t + nv}, batch.joint_pad(c));
  in.pool_text = ctx.tensor({b, 1, t}, batch.pool_text(c));
  in.pool_image = ctx.tensor({1, 1, nv}, batch.pool_image(c));
  Tensor logits = ctx.tensor({b, c.num_outputs}), probs = ctx.tensor({b, c.num_outputs}), w = ctx.tensor({b, t, nv});
  Sequence s(ctx);
  record(s, in, logits, probs, need_weights ? &w : nullptr);
  s.run();
  FusionOutputs out;
  out.logits = logits.read();
  out.probs = probs.read();
  if (need_weights) out.cross_weights = w.read();
  return out;
}

namespace ref {

FusionOutputs vision_text_fusion(const FusionConfig& c, const WeightMap& w, const FusionBatch& f, bool need_weights) {
  const int64_t e = c.layer.d_model, b = f.b, t = f.t, nv = c.image_tokens(), g = c.grid(), p = c.patch_size;
  const int64_t ch = c.in_channels, hw = c.image_size, first = c.use_cls_token ? 1 : 0;
  const auto& pw = need(w, "vision.patch_embed.weight");
  const auto& pb = need(w, "vision.patch_embed.bias");
  const auto& pos = need(w, "vision.pos_embed");
  // v = patch_embed(image).flatten(2).transpose(1, 2), class token first, + pos_embed
  std::vector<float> v0(b * nv * e), v(b * nv * e), vv(b * nv * e);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t gy = 0; gy < g; ++gy)
      for (int64_t gx = 0; gx < g; ++gx)
        for (int64_t o = 0; o < e; ++o) {
          double acc = pb[o];
          for (int64_t ic = 0; ic < ch; ++ic)
            for (int64_t py = 0; py < p; ++py)
              for (int64_t px = 0; px < p; ++px)
                acc += double(pw[((o * ch + ic) * p + py) * p + px]) *
                       f.image[((ib * ch + ic) * hw + gy * p + py) * hw + gx * p + px];
          v0[(ib * nv + first + gy * g + gx) * e + o] = float(acc);
        }
  for (int64_t ib = 0; ib < b; ++ib) {
    if (c.use_cls_token)
      for (int64_t o = 0; o < e; ++o) v0[ib * nv * e + o] = need(w, "vision.cls_token")[o];
    for (int64_t i = 0; i < nv * e; ++i) v0[ib * nv * e + i] += pos[i];
  }
  transformer_encoder(c.encoder(c.vision_layers), w, "vision.encoder.", v0.data(), b, nv, nullptr, nullptr, vv.data());
  layer_norm(vv.data(), nullptr, v.data(), b * nv, e, c.layer.layer_norm_eps, need(w, "vision.norm.weight").data(),
             need(w, "vision.norm.bias").data());
  // t = token_embed(ids) + pos_embed[:, :T], encoder over real tokens, norm
  const auto& tok = need(w, "text.token_embed.weight");
  const auto& tpos = need(w, "text.pos_embed");
  std::vector<float> t0(b * t * e), tt(b * t * e), tx(b * t * e);
  for (int64_t i = 0; i < b * t; ++i)
    for (int64_t o = 0; o < e; ++o) t0[i * e + o] = tok[f.ids[i] * e + o] + tpos[(i % t) * e + o];
  const auto pad = f.text_pad();
  transformer_encoder(c.encoder(c.text_layers), w, "text.encoder.", t0.data(), b, t, pad.data(), nullptr, tt.data());
  layer_norm(tt.data(), nullptr, tx.data(), b * t, e, c.layer.layer_norm_eps, need(w, "text.norm.weight").data(),
             need(w, "text.norm.bias").data());
  FusionOutputs out;
  if (need_weights) out.cross_weights.resize(b * t * nv);
  for (int64_t i = 0; i < c.fusion_layers; ++i) {
    const std::string pre = "fusion.layers." + std::to_string(i) + ".";
    const bool last = i + 1 == c.fusion_layers;
    std::vector<float> nt(tx.size()), nvv(v.size());
    transformer_decoder_layer(c.layer, w, pre + "text_to_image.", tx.data(), v.data(), b, t, nv, pad.data(), nullptr,
                              nullptr, nullptr, nt.data(), last && need_weights ? out.cross_weights.data() : nullptr);
    if (c.bidirectional) {
      transformer_decoder_layer(c.layer, w, pre + "image_to_text.", v.data(), tx.data(), b, nv, t, nullptr, nullptr,
                                pad.data(), nullptr, nvv.data(), nullptr);
      v.swap(nvv);
    }
    tx.swap(nt);
  }
  const int64_t n = t + nv;
  std::vector<float> x(b * n * e), x2(b * n * e);
  for (int64_t ib = 0; ib < b; ++ib) {
    std::copy(tx.begin() + ib * t * e, tx.begin() + (ib + 1) * t * e, x.begin() + ib * n * e);
    std::copy(v.begin() + ib * nv * e, v.begin() + (ib + 1) * nv * e, x.begin() + (ib * n + t) * e);
  }
  const auto jp = f.joint_pad(c);
  transformer_encoder(c.encoder(c.joint_layers), w, "joint.", x.data(), b, n, jp.data(), nullptr, x2.data());
  const auto pt = f.pool_text(c), pi = f.pool_image(c);
  std::vector<float> feat(b * 2 * e, 0.f);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t o = 0; o < e; ++o) {
      double st = 0, sv = 0;
      for (int64_t i = 0; i < t; ++i) st += double(pt[ib * t + i]) * x2[(ib * n + i) * e + o];
      for (int64_t i = 0; i < nv; ++i) sv += double(pi[i]) * x2[(ib * n + t + i) * e + o];
      feat[ib * 2 * e + o] = float(st);
      feat[ib * 2 * e + e + o] = float(sv);
    }
  out.logits.resize(b * c.num_outputs);
  ops::MatmulOptions head;
  head.trans_b = true;
  matmul(feat.data(), need(w, "head.weight").data(), out.logits.data(), 1, b, c.num_outputs, 2 * e, head,
         need(w, "head.bias").data(), false);
  out.probs = out.logits;
  if (c.output_activation == FusionConfig::Output::Sigmoid)
    for (auto& y : out.probs) y = sigmoid(y);
  else if (c.output_activation == FusionConfig::Output::Softmax)
    softmax(out.logits.data(), out.probs.data(), b, c.num_outputs, 1.f, nullptr, 1);
  return out;
}

}  // namespace ref
}  // namespace vkfuse
