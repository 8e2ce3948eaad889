// The multi-head attention module: projections, fused attention over head views, output
// projection; and its CPU reference.
#include "vkfuse/multihead_attention.hpp"

#include <limits>

#include "vkfuse/error.hpp"
#include "runtime/workspace.h"
#include "vkfuse/reference.hpp"

namespace vkfuse {

std::vector<std::pair<std::string, Shape>> MultiheadAttentionConfig::tensors() const {
  const int64_t e = embed_dim;
  std::vector<std::pair<std::string, Shape>> t;
  if (packed()) {
    t.push_back({"in_proj_weight", {3 * e, e}});
  } else {
    t.push_back({"q_proj_weight", {e, e}});
    t.push_back({"k_proj_weight", {e, k_dim()}});
    t.push_back({"v_proj_weight", {e, v_dim()}});
  }
  if (bias) t.push_back({"in_proj_bias", {3 * e}});
  t.push_back({"out_proj.weight", {e, e}});
  if (bias) t.push_back({"out_proj.bias", {e}});
  return t;
}

void MultiheadAttentionConfig::validate() const {
  auto fail = [](const std::string& m) { throw Error("multihead_attention config: " + m); };
  if (embed_dim <= 0) fail("embed_dim must be positive");
  if (num_heads <= 0) fail("num_heads must be positive");
  if (embed_dim % num_heads) fail("embed_dim " + std::to_string(embed_dim) + " is not divisible by num_heads " +
                                  std::to_string(num_heads));
  if (kdim < 0 || vdim < 0) fail("kdim and vdim must be positive");
}

std::vector<float> additive_mask(const std::vector<uint8_t>& masked) {
  std::vector<float> m(masked.size());
  for (size_t i = 0; i < m.size(); ++i) m[i] = masked[i] ? -std::numeric_limits<float>::infinity() : 0.f;
  return m;
}

namespace {
// Rows [first, first + count) of a weight matrix (Context::matrix: rows may be padded).
Tensor weight_rows(const Tensor& w, int64_t first, int64_t count) {
  return w.view({count, w.dim(1)}, {w.strides()[0], 1}, w.offset() + first * w.strides()[0]);
}
}  // namespace

MultiheadAttention::MultiheadAttention(Context& ctx, const MultiheadAttentionConfig& config, const WeightMap& weights)
    : ctx_(ctx), config_(config) {
  config_.validate();
  auto expected = config_.tensors();
  for (const auto& [name, shape] : expected) {
    auto it = weights.find(name);
    if (it == weights.end()) throw Error("multihead_attention: tensor '" + name + "' is missing");
    if (static_cast<int64_t>(it->second.size()) != shape_numel(shape))
      throw Error("multihead_attention: tensor '" + name + "' has " + std::to_string(it->second.size()) +
                  " elements, expected " + shape_string(shape));
    w_[name] = shape.size() == 2 ? ctx_.matrix(shape[0], shape[1], it->second)
                                 : ctx_.tensor(shape, it->second);
  }
  for (const auto& [name, v] : weights) {
    bool known = false;
    for (const auto& e : expected) known = known || e.first == name;
    if (!known) throw Error("multihead_attention: unexpected tensor '" + name + "' for this config");
  }
}

void MultiheadAttention::record(Sequence& s, const Tensor& query, const Tensor& key, const Tensor& value,
                                const Tensor& output, const AttentionMasks& masks, const Tensor* weights,
                                const Tensor* residual) {
  const auto& c = config_;
  const int64_t e = c.embed_dim, h = c.num_heads, d = c.head_dim();
  auto need = [](bool ok, const std::string& m) {
    if (!ok) throw Error("multihead_attention: " + m);
  };
  for (const Tensor* t : {&query, &key, &value, &output})
    need(t->rank() == 3 && t->contiguous() && t->dtype() == DType::F32,
         "inputs and output must be contiguous F32 [B, rows, features], got " + t->describe());
  const int64_t b = query.dim(0), l = query.dim(1), sk = key.dim(1);
  need(query.dim(2) == e, "query " + query.describe() + " should have " + std::to_string(e) + " features");
  need(key.dim(0) == b && key.dim(2) == c.k_dim(),
       "key " + key.describe() + " should be " + shape_string({b, sk, c.k_dim()}));
  need(value.dim(0) == b && value.dim(1) == sk && value.dim(2) == c.v_dim(),
       "value " + value.describe() + " should be " + shape_string({b, sk, c.v_dim()}) + " (key length " +
           std::to_string(sk) + ")");
  need(output.shape() == Shape{b, l, e}, "output " + output.describe() + " should be " + shape_string({b, l, e}));

  // Part 0-2 of in_proj_bias (q, k, v) or out_proj.bias (3); empty without bias.
  auto bias_view = [&](int64_t part) {
    if (!c.bias) return Tensor();
    return part < 3 ? w_.at("in_proj_bias").view({e}, {1}, part * e) : w_.at("out_proj.bias");
  };
  auto project = [&](const Tensor& x, const Tensor& wt, const Tensor& bias, const Tensor& y,
                     const Tensor* res = nullptr) {
    ops::MatmulOptions o;
    o.trans_b = true;  // y = x · Wᵀ + b, W as PyTorch stores it: [out_features, in_features]
    o.bias = bias.defined() ? &bias : nullptr;
    Tensor res2d;
    if (res) {
      res2d = res->reshape({res->dim(0) * res->dim(1), res->dim(2)});
      o.residual = &res2d;
    }
    ops::matmul(s, x.reshape({x.dim(0) * x.dim(1), x.dim(2)}), wt, y.reshape({y.dim(0) * y.dim(1), y.dim(2)}), o);
  };
  // [B, rows, ld] → heads [B, H, rows, D] starting at column `col`, without copies.
  auto heads = [&](const Tensor& t, int64_t rows, int64_t ld, int64_t col) {
    return t.view({b, h, rows, d}, {rows * ld, d, ld, 1}, t.offset() + col);
  };

  detail::Scratch scratch(s);
  Tensor qh, kh, vh;
  const bool self = c.packed() && query.storage() == key.storage() && key.storage() == value.storage() &&
                    query.offset() == key.offset() && key.offset() == value.offset() && query.shape() == key.shape();
  if (self) {
    // One [B·L, E] x [E, 3E] product for Q, K and V.
    Tensor qkv = scratch({b, l, 3 * e});
    project(query, w_.at("in_proj_weight"), c.bias ? w_.at("in_proj_bias") : Tensor(), qkv);
    qh = heads(qkv, l, 3 * e, 0);
    kh = heads(qkv, l, 3 * e, e);
    vh = heads(qkv, l, 3 * e, 2 * e);
  } else if (c.packed() && key.storage() == value.storage() && key.offset() == value.offset() &&
             key.shape() == value.shape()) {
    // Cross-attention over one memory: K and V in one [B·S, E] x [E, 2E] product.
    Tensor qp = scratch({b, l, e}), kv = scratch({b, sk, 2 * e});
    const Tensor& w = w_.at("in_proj_weight");
    project(query, weight_rows(w, 0, e), bias_view(0), qp);
    project(key, weight_rows(w, e, 2 * e), c.bias ? w_.at("in_proj_bias").view({2 * e}, {1}, e) : Tensor(),
            kv);
    qh = heads(qp, l, e, 0);
    kh = heads(kv, sk, 2 * e, 0);
    vh = heads(kv, sk, 2 * e, e);
  } else {
    Tensor qp = scratch({b, l, e}), kp = scratch({b, sk, e}), vp = scratch({b, sk, e});
    if (c.packed()) {
      const Tensor& w = w_.at("in_proj_weight");
      project(query, weight_rows(w, 0, e), bias_view(0), qp);
      project(key, weight_rows(w, e, e), bias_view(1), kp);
      project(value, weight_rows(w, 2 * e, e), bias_view(2), vp);
    } else {
      project(query, w_.at("q_proj_weight"), bias_view(0), qp);
      project(key, w_.at("k_proj_weight"), bias_view(1), kp);
      project(value, w_.at("v_proj_weight"), bias_view(2), vp);
    }
    qh = heads(qp, l, e, 0);
    kh = heads(kp, sk, e, 0);
    vh = heads(vp, sk, e, 0);
  }
  Tensor attn = scratch({b, l, e}), lse = weights ? scratch({b, h, l}) : Tensor();
  ops::AttentionOptions ao;
  ao.score = c.score;
  ao.key_padding = masks.key_padding;
  ao.attn_mask = masks.attn_mask;
  ao.causal = masks.causal;
  ao.lse = weights ? &lse : nullptr;
  ops::attention(s, qh, kh, vh, heads(attn, l, e, 0), ao);
  if (weights) ops::attention_weights(s, qh, kh, *weights, ao);
  if (residual) need(residual->shape() == output.shape() && residual->contiguous(),
                    "residual " + residual->describe() + " should be contiguous like the output");
  project(attn, w_.at("out_proj.weight"), bias_view(3), output, residual);
}

namespace ref {

void multihead_attention(const MultiheadAttentionConfig& c, const WeightMap& w, const float* query,
                         const float* key, const float* value, int64_t b, int64_t l, int64_t s,
                         const float* key_pad, const float* attn_mask, float* out, float* weights) {
  const int64_t e = c.embed_dim, h = c.num_heads, d = c.head_dim();
  ops::MatmulOptions t;
  t.trans_b = true;
  auto project = [&](const float* x, int64_t rows, int64_t in, const float* wt, const float* bias, float* y) {
    ops::MatmulOptions o = t;
    ref::matmul(x, wt, y, 1, rows, e, in, o, bias, false);
  };
  const float* bias = c.bias ? w.at("in_proj_bias").data() : nullptr;
  std::vector<float> qp(b * l * e), kp(b * s * e), vp(b * s * e);
  if (c.packed()) {
    const float* wi = w.at("in_proj_weight").data();
    project(query, b * l, e, wi, bias, qp.data());
    project(key, b * s, e, wi + e * e, bias ? bias + e : nullptr, kp.data());
    project(value, b * s, e, wi + 2 * e * e, bias ? bias + 2 * e : nullptr, vp.data());
  } else {
    project(query, b * l, e, w.at("q_proj_weight").data(), bias, qp.data());
    project(key, b * s, c.k_dim(), w.at("k_proj_weight").data(), bias ? bias + e : nullptr, kp.data());
    project(value, b * s, c.v_dim(), w.at("v_proj_weight").data(), bias ? bias + 2 * e : nullptr, vp.data());
  }
  std::vector<float> q4(qp.size()), k4(kp.size()), v4(vp.size()), o4(qp.size()), merged(qp.size());
  ref::split_heads(qp.data(), q4.data(), b, l, h, d);
  ref::split_heads(kp.data(), k4.data(), b, s, h, d);
  ref::split_heads(vp.data(), v4.data(), b, s, h, d);
  ref::attention(q4.data(), k4.data(), v4.data(), o4.data(), weights, b, h, l, s, d, c.score, 0.f, key_pad,
                 attn_mask);
  for (int64_t ib = 0; ib < b; ++ib)
    for (int64_t ih = 0; ih < h; ++ih)
      for (int64_t il = 0; il < l; ++il)
        for (int64_t id = 0; id < d; ++id)
          merged[(ib * l + il) * e + ih * d + id] = o4[((ib * h + ih) * l + il) * d + id];
  project(merged.data(), b * l, e, w.at("out_proj.weight").data(), c.bias ? w.at("out_proj.bias").data() : nullptr,
          out);
}

}  // namespace ref
}  // namespace vkfuse
