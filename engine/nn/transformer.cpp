// The transformer encoder: layers of self-attention and feed-forward blocks with residuals
// and LayerNorm, post- or pre-norm; and its CPU reference.
#include "vkfuse/transformer.hpp"

#include "vkfuse/error.hpp"
#include "runtime/workspace.h"
#include "vkfuse/reference.hpp"
#include "vkfuse/sequence.hpp"

namespace vkfuse {

void TransformerConfig::validate() const {
  auto fail = [](const std::string& m) { throw Error("transformer config: " + m); };
  if (d_model <= 0 || nhead <= 0 || dim_feedforward <= 0) fail("d_model, nhead and dim_feedforward must be positive");
  if (num_layers < 0) fail("num_layers must not be negative");
  if (d_model % nhead) fail("d_model " + std::to_string(d_model) + " is not divisible by nhead " + std::to_string(nhead));
  if (activation == ops::Activation::None || activation == ops::Activation::Tanh)
    fail("activation must be relu, gelu, quick_gelu or gelu_tanh");
  if (!(layer_norm_eps > 0.f)) fail("layer_norm_eps must be positive");
}

MultiheadAttentionConfig TransformerConfig::attention() const {
  MultiheadAttentionConfig a;
  a.embed_dim = d_model;
  a.num_heads = nhead;
  return a;
}

std::vector<std::pair<std::string, Shape>> TransformerConfig::decoder_layer_tensors(const std::string& p) const {
  const int64_t e = d_model, f = dim_feedforward;
  std::vector<std::pair<std::string, Shape>> t;
  for (const char* attn : {"self_attn.", "multihead_attn."})
    for (const auto& [name, shape] : attention().tensors()) t.push_back({p + attn + name, shape});
  t.push_back({p + "linear1.weight", {f, e}});
  t.push_back({p + "linear1.bias", {f}});
  t.push_back({p + "linear2.weight", {e, f}});
  t.push_back({p + "linear2.bias", {e}});
  for (const char* n : {"norm1", "norm2", "norm3"}) {
    t.push_back({p + n + ".weight", {e}});
    t.push_back({p + n + ".bias", {e}});
  }
  return t;
}

std::vector<std::pair<std::string, Shape>> TransformerConfig::decoder_tensors(const std::string& prefix) const {
  std::vector<std::pair<std::string, Shape>> t;
  for (int64_t i = 0; i < num_layers; ++i) {
    auto layer = decoder_layer_tensors(prefix + "layers." + std::to_string(i) + ".");
    t.insert(t.end(), layer.begin(), layer.end());
  }
  if (final_norm) {
    t.push_back({prefix + "norm.weight", {d_model}});
    t.push_back({prefix + "norm.bias", {d_model}});
  }
  return t;
}

std::vector<std::pair<std::string, Shape>> TransformerConfig::encoder_tensors(const std::string& prefix) const {
  const int64_t e = d_model, f = dim_feedforward;
  std::vector<std::pair<std::string, Shape>> t;
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string p = prefix + "layers." + std::to_string(i) + ".";
    for (const auto& [name, shape] : attention().tensors()) t.push_back({p + "self_attn." + name, shape});
    t.push_back({p + "linear1.weight", {f, e}});
    t.push_back({p + "linear1.bias", {f}});
    t.push_back({p + "linear2.weight", {e, f}});
    t.push_back({p + "linear2.bias", {e}});
    for (const char* n : {"norm1", "norm2"}) {
      t.push_back({p + n + ".weight", {e}});
      t.push_back({p + n + ".bias", {e}});
    }
  }
  if (final_norm) {
    t.push_back({prefix + "norm.weight", {e}});
    t.push_back({prefix + "norm.bias", {e}});
  }
  return t;
}

WeightMap sub_weights(const WeightMap& w, const std::string& prefix) {
  WeightMap out;
  for (auto it = w.lower_bound(prefix); it != w.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

namespace {
// model-format.md builds the final norm as LayerNorm(d_model), whose eps is PyTorch's default
// whatever layer_norm_eps says.
constexpr float kFinalNormEps = 1e-5f;

const std::vector<float>& need(const WeightMap& w, const std::string& name) {
  auto it = w.find(name);
  if (it == w.end()) throw Error("transformer: tensor '" + name + "' is missing");
  return it->second;
}
}  // namespace

namespace {
Tensor rows(const Tensor& t) { return t.reshape({t.dim(0) * t.dim(1), t.dim(2)}); }

// y = act(x·Wᵀ + b) (+ residual): nn.Linear in one dispatch.
void linear(Sequence& s, const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y, ops::Activation act,
            const Tensor* res) {
  ops::MatmulOptions o;
  o.trans_b = true;
  o.bias = &bias;
  o.act = act;
  Tensor r;
  if (res) {
    r = rows(*res);
    o.residual = &r;
  }
  ops::matmul(s, rows(x), w, rows(y), o);
}

// y = LayerNorm(x (+ residual)).
void norm(Sequence& s, const Tensor& x, const Tensor& y, const Tensor& w, const Tensor& bias, float eps,
          const Tensor* res) {
  ops::LayerNormOptions o;
  o.eps = eps;
  o.weight = &w;
  o.bias = &bias;
  o.residual = res;
  ops::layer_norm(s, x, y, o);
}
}  // namespace

namespace {
// A weight and its bias on the device: nn.Linear's [out, in] and [out], or a LayerNorm's [E]
// and [E]; the bias has the weight's first dimension.
struct LinearWeights {
  Tensor weight, bias;
  LinearWeights(Context& ctx, const WeightMap& w, const std::string& name, const Shape& weight_shape)
      : weight(weight_shape.size() == 2
                   ? ctx.matrix(weight_shape[0], weight_shape[1], need(w, name + ".weight"))
                   : ctx.tensor(weight_shape, need(w, name + ".weight"))),
        bias(ctx.tensor({weight_shape[0]}, need(w, name + ".bias"))) {}
};
}  // namespace

struct TransformerEncoder::Layer {
  MultiheadAttention attn;
  LinearWeights lin1, lin2, norm1, norm2;
  Layer(Context& ctx, const TransformerConfig& c, const WeightMap& w, const std::string& p)
      : attn(ctx, c.attention(), sub_weights(w, p + "self_attn.")),
        lin1(ctx, w, p + "linear1", {c.dim_feedforward, c.d_model}),
        lin2(ctx, w, p + "linear2", {c.d_model, c.dim_feedforward}),
        norm1(ctx, w, p + "norm1", {c.d_model}),
        norm2(ctx, w, p + "norm2", {c.d_model}) {}
};

TransformerEncoder::TransformerEncoder(Context& ctx, const TransformerConfig& config, const WeightMap& weights,
                                       const std::string& prefix)
    : ctx_(ctx), config_(config) {
  config_.validate();
  for (int64_t i = 0; i < config_.num_layers; ++i)
    layers_.push_back(std::make_unique<Layer>(ctx_, config_, weights, prefix + "layers." + std::to_string(i) + "."));
  if (config_.final_norm) {
    norm_w_ = ctx_.tensor({config_.d_model}, need(weights, prefix + "norm.weight"));
    norm_b_ = ctx_.tensor({config_.d_model}, need(weights, prefix + "norm.bias"));
  }
}

TransformerEncoder::~TransformerEncoder() = default;

void TransformerEncoder::record(Sequence& s, const Tensor& src, const Tensor& out, const AttentionMasks& masks) {
  const auto& c = config_;
  if (src.rank() != 3 || src.dim(2) != c.d_model || !src.contiguous() || out.shape() != src.shape())
    throw Error("transformer encoder: src " + src.describe() + " and out " + out.describe() +
                " should both be contiguous [B, L, " + std::to_string(c.d_model) + "]");
  const int64_t b = src.dim(0), l = src.dim(1), e = c.d_model;
  // Work buffers, reused by every layer (the sequence puts barriers where a layer overwrites
  // what the one before read): two for the running x, one for x1, one for the block's
  // inner result; the [B, L, F] feed-forward hidden layer is taken after the attention
  // block has given its own intermediates back.
  detail::Scratch scratch(s);
  Tensor ping = scratch({b, l, e}), pong = scratch({b, l, e}), x1 = scratch({b, l, e}), tmp = scratch({b, l, e});
  auto lin = [&](const Tensor& x, const LinearWeights& w, const Tensor& y, ops::Activation act,
                 const Tensor* res) { linear(s, x, w.weight, w.bias, y, act, res); };
  auto nrm = [&](const Tensor& x, const Tensor& y, const LinearWeights& w, const Tensor* res) {
    norm(s, x, y, w.weight, w.bias, c.layer_norm_eps, res);
  };
  const Tensor* x = &src;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& L = *layers_[i];
    const bool last = i + 1 == layers_.size();
    const Tensor& y = last && !c.final_norm ? out : (i % 2 ? pong : ping);
    detail::Scratch layer(s);
    if (c.norm_first) {
      // x1 = x + SA(LN1(x)); y = x1 + FF(LN2(x1))
      nrm(*x, tmp, L.norm1, nullptr);
      L.attn.record(s, tmp, tmp, tmp, x1, masks, nullptr, x);
      nrm(x1, tmp, L.norm2, nullptr);
      Tensor hidden = layer({b, l, c.dim_feedforward});
      lin(tmp, L.lin1, hidden, c.activation, nullptr);
      lin(hidden, L.lin2, y, ops::Activation::None, &x1);
    } else {
      // x1 = LN1(x + SA(x)); y = LN2(x1 + FF(x1))
      L.attn.record(s, *x, *x, *x, tmp, masks);
      nrm(tmp, x1, L.norm1, x);
      Tensor hidden = layer({b, l, c.dim_feedforward});
      lin(x1, L.lin1, hidden, c.activation, nullptr);
      lin(hidden, L.lin2, tmp, ops::Activation::None, nullptr);
      nrm(tmp, y, L.norm2, &x1);
    }
    x = &y;
  }
  if (c.final_norm) {
    ops::LayerNormOptions o;  // the spec's LayerNorm(d_model): PyTorch's default eps
    o.eps = kFinalNormEps;
    o.weight = &norm_w_;
    o.bias = &norm_b_;
    ops::layer_norm(s, *x, out, o);
  }
  else if (layers_.empty())
    ops::copy(s, src, out);
}

struct TransformerDecoderLayer::Weights {
  MultiheadAttention self, cross;
  LinearWeights lin1, lin2, norm1, norm2, norm3;
  Weights(Context& ctx, const TransformerConfig& c, const WeightMap& w, const std::string& p)
      : self(ctx, c.attention(), sub_weights(w, p + "self_attn.")),
        cross(ctx, c.attention(), sub_weights(w, p + "multihead_attn.")),
        lin1(ctx, w, p + "linear1", {c.dim_feedforward, c.d_model}),
        lin2(ctx, w, p + "linear2", {c.d_model, c.dim_feedforward}),
        norm1(ctx, w, p + "norm1", {c.d_model}),
        norm2(ctx, w, p + "norm2", {c.d_model}),
        norm3(ctx, w, p + "norm3", {c.d_model}) {}
};

TransformerDecoderLayer::TransformerDecoderLayer(Context& ctx, const TransformerConfig& config, const WeightMap& w,
                                                 const std::string& p)
    : config_(config), w_(std::make_unique<Weights>(ctx, config, w, p)) {}
TransformerDecoderLayer::~TransformerDecoderLayer() = default;

void TransformerDecoderLayer::record(Sequence& s, const Tensor& tgt, const Tensor& memory, const Tensor& out,
                                     const DecoderMasks& masks, const Tensor* cross_weights) {
  const auto& c = config_;
  if (tgt.rank() != 3 || tgt.dim(2) != c.d_model || memory.rank() != 3 || memory.dim(2) != c.d_model ||
      memory.dim(0) != tgt.dim(0) || out.shape() != tgt.shape())
    throw Error("transformer decoder layer: tgt " + tgt.describe() + ", memory " + memory.describe() + " and out " +
                out.describe() + " should be [B, L, E], [B, S, E] and [B, L, E] with E = " + std::to_string(c.d_model));
  const Shape shape = tgt.shape();
  detail::Scratch scratch(s);
  Tensor x1 = scratch(shape), x2 = scratch(shape), tmp = scratch(shape);
  const Shape hidden_shape{shape[0], shape[1], c.dim_feedforward};
  const float eps = c.layer_norm_eps;
  if (c.norm_first) {
    // x1 = x + SA(LN1(x)); x2 = x1 + CA(LN2(x1), mem); y = x2 + FF(LN3(x2))
    norm(s, tgt, tmp, w_->norm1.weight, w_->norm1.bias, eps, nullptr);
    w_->self.record(s, tmp, tmp, tmp, x1, masks.self, nullptr, &tgt);
    norm(s, x1, tmp, w_->norm2.weight, w_->norm2.bias, eps, nullptr);
    w_->cross.record(s, tmp, memory, memory, x2, masks.cross, cross_weights, &x1);
    norm(s, x2, tmp, w_->norm3.weight, w_->norm3.bias, eps, nullptr);
    Tensor hidden = scratch(hidden_shape);
    linear(s, tmp, w_->lin1.weight, w_->lin1.bias, hidden, c.activation, nullptr);
    linear(s, hidden, w_->lin2.weight, w_->lin2.bias, out, ops::Activation::None, &x2);
  } else {
    // x1 = LN1(x + SA(x)); x2 = LN2(x1 + CA(x1, mem)); y = LN3(x2 + FF(x2))
    w_->self.record(s, tgt, tgt, tgt, tmp, masks.self);
    norm(s, tmp, x1, w_->norm1.weight, w_->norm1.bias, eps, &tgt);
    w_->cross.record(s, x1, memory, memory, tmp, masks.cross, cross_weights);
    norm(s, tmp, x2, w_->norm2.weight, w_->norm2.bias, eps, &x1);
    Tensor hidden = scratch(hidden_shape);
    linear(s, x2, w_->lin1.weight, w_->lin1.bias, hidden, c.activation, nullptr);
    linear(s, hidden, w_->lin2.weight, w_->lin2.bias, tmp, ops::Activation::None, nullptr);
    norm(s, tmp, out, w_->norm3.weight, w_->norm3.bias, eps, &x2);
  }
}

TransformerDecoder::TransformerDecoder(Context& ctx, const TransformerConfig& config, const WeightMap& weights,
                                       const std::string& prefix)
    : ctx_(ctx), config_(config) {
  config_.validate();
  for (int64_t i = 0; i < config_.num_layers; ++i)
    layers_.push_back(std::make_unique<TransformerDecoderLayer>(ctx_, config_, weights,
                                                                prefix + "layers." + std::to_string(i) + "."));
  if (config_.final_norm) {
    norm_w_ = ctx_.tensor({config_.d_model}, need(weights, prefix + "norm.weight"));
    norm_b_ = ctx_.tensor({config_.d_model}, need(weights, prefix + "norm.bias"));
  }
}

TransformerDecoder::~TransformerDecoder() = default;

void TransformerDecoder::record(Sequence& s, const Tensor& tgt, const Tensor& memory, const Tensor& out,
                                const DecoderMasks& masks, const Tensor* cross_weights) {
  detail::Scratch scratch(s);
  Tensor ping = scratch(tgt.shape()), pong = scratch(tgt.shape());
  const Tensor* x = &tgt;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const bool last = i + 1 == layers_.size();
    const Tensor& y = last && !config_.final_norm ? out : (i % 2 ? pong : ping);
    layers_[i]->record(s, *x, memory, y, masks, last ? cross_weights : nullptr);
    x = &y;
  }
  if (config_.final_norm)
    norm(s, *x, out, norm_w_, norm_b_, kFinalNormEps, nullptr);
  else if (layers_.empty())
    ops::copy(s, tgt, out);
}

namespace ref {

namespace {
// nn.Linear (y = act(x·Wᵀ + b) (+ residual)) and LayerNorm, by their state_dict names, over
// `rows` rows: the blocks of the layer references below.
struct Blocks {
  const TransformerConfig& c;
  const WeightMap& w;
  int64_t rows;
  void linear(const float* in, int64_t k, const std::string& name, int64_t outf, float* o, ops::Activation act,
              const float* res) const {
    ops::MatmulOptions m;
    m.trans_b = true;
    m.act = act;
    matmul(in, need(w, name + ".weight").data(), o, 1, rows, outf, k, m, need(w, name + ".bias").data(), false, res);
  }
  void norm(const float* in, const float* res, float* o, const std::string& name) const {
    layer_norm(in, res, o, rows, c.d_model, c.layer_norm_eps, need(w, name + ".weight").data(),
               need(w, name + ".bias").data());
  }
};
}  // namespace

void transformer_decoder_layer(const TransformerConfig& c, const WeightMap& w, const std::string& p, const float* tgt,
                               const float* memory, int64_t b, int64_t l, int64_t s, const float* tgt_pad,
                               const float* tgt_mask, const float* mem_pad, const float* mem_mask, float* out,
                               float* cross_weights) {
  const int64_t e = c.d_model, f = c.dim_feedforward, n = b * l;
  std::vector<float> x1(n * e), x2(n * e), tmp(n * e), hidden(n * f);
  const Blocks blk{c, w, n};
  const WeightMap sw = sub_weights(w, p + "self_attn."), cw = sub_weights(w, p + "multihead_attn.");
  const auto a = c.attention();
  if (c.norm_first) {
    blk.norm(tgt, nullptr, tmp.data(), p + "norm1");
    multihead_attention(a, sw, tmp.data(), tmp.data(), tmp.data(), b, l, l, tgt_pad, tgt_mask, x1.data(), nullptr);
    for (int64_t j = 0; j < n * e; ++j) x1[j] += tgt[j];
    blk.norm(x1.data(), nullptr, tmp.data(), p + "norm2");
    multihead_attention(a, cw, tmp.data(), memory, memory, b, l, s, mem_pad, mem_mask, x2.data(), cross_weights);
    for (int64_t j = 0; j < n * e; ++j) x2[j] += x1[j];
    blk.norm(x2.data(), nullptr, tmp.data(), p + "norm3");
    blk.linear(tmp.data(), e, p + "linear1", f, hidden.data(), c.activation, nullptr);
    blk.linear(hidden.data(), f, p + "linear2", e, out, ops::Activation::None, x2.data());
  } else {
    multihead_attention(a, sw, tgt, tgt, tgt, b, l, l, tgt_pad, tgt_mask, tmp.data(), nullptr);
    blk.norm(tmp.data(), tgt, x1.data(), p + "norm1");
    multihead_attention(a, cw, x1.data(), memory, memory, b, l, s, mem_pad, mem_mask, tmp.data(), cross_weights);
    blk.norm(tmp.data(), x1.data(), x2.data(), p + "norm2");
    blk.linear(x2.data(), e, p + "linear1", f, hidden.data(), c.activation, nullptr);
    blk.linear(hidden.data(), f, p + "linear2", e, tmp.data(), ops::Activation::None, nullptr);
    blk.norm(tmp.data(), x2.data(), out, p + "norm3");
  }
}

void transformer_decoder(const TransformerConfig& c, const WeightMap& w, const std::string& prefix, const float* tgt,
                         const float* memory, int64_t b, int64_t l, int64_t s, const float* tgt_pad,
                         const float* tgt_mask, const float* mem_pad, const float* mem_mask, float* out,
                         float* cross_weights) {
  const int64_t n = b * l * c.d_model;
  std::vector<float> x(tgt, tgt + n), y(n);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const bool last = i + 1 == c.num_layers;
    transformer_decoder_layer(c, w, prefix + "layers." + std::to_string(i) + ".", x.data(), memory, b, l, s, tgt_pad,
                              tgt_mask, mem_pad, mem_mask, y.data(), last ? cross_weights : nullptr);
    x.swap(y);
  }
  if (c.final_norm)
    layer_norm(x.data(), nullptr, out, b * l, c.d_model, kFinalNormEps, need(w, prefix + "norm.weight").data(),
               need(w, prefix + "norm.bias").data());
  else
    std::copy(x.begin(), x.end(), out);
}

void transformer_encoder(const TransformerConfig& c, const WeightMap& w, const std::string& prefix, const float* src,
                         int64_t b, int64_t l, const float* key_pad, const float* attn_mask, float* out) {
  const int64_t e = c.d_model, f = c.dim_feedforward, n = b * l;
  std::vector<float> x(src, src + n * e), x1(n * e), tmp(n * e), hidden(n * f), y(n * e);
  const Blocks blk{c, w, n};
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = prefix + "layers." + std::to_string(i) + ".";
    const WeightMap aw = sub_weights(w, p + "self_attn.");
    if (c.norm_first) {
      blk.norm(x.data(), nullptr, tmp.data(), p + "norm1");
      multihead_attention(c.attention(), aw, tmp.data(), tmp.data(), tmp.data(), b, l, l, key_pad, attn_mask,
                          x1.data(), nullptr);
      for (int64_t j = 0; j < n * e; ++j) x1[j] += x[j];
      blk.norm(x1.data(), nullptr, tmp.data(), p + "norm2");
      blk.linear(tmp.data(), e, p + "linear1", f, hidden.data(), c.activation, nullptr);
      blk.linear(hidden.data(), f, p + "linear2", e, y.data(), ops::Activation::None, x1.data());
    } else {
      multihead_attention(c.attention(), aw, x.data(), x.data(), x.data(), b, l, l, key_pad, attn_mask, tmp.data(),
                          nullptr);
      blk.norm(tmp.data(), x.data(), x1.data(), p + "norm1");
      blk.linear(x1.data(), e, p + "linear1", f, hidden.data(), c.activation, nullptr);
      blk.linear(hidden.data(), f, p + "linear2", e, tmp.data(), ops::Activation::None, nullptr);
      blk.norm(tmp.data(), x1.data(), y.data(), p + "norm2");
    }
    x.swap(y);
  }
  if (c.final_norm)
    layer_norm(x.data(), nullptr, out, n, e, kFinalNormEps, need(w, prefix + "norm.weight").data(),
               need(w, prefix + "norm.bias").data());
  else
    std::copy(x.begin(), x.end(), out);
}

}  // namespace ref
}  // namespace vkfuse
