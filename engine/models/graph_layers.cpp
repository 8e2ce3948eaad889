// The archs' shared graph pieces (graph_layers.h).
#include "models/graph_layers.h"

#include <cstring>

#include "vkfuse/error.hpp"

namespace vkfuse::detail::layers {

using graph::Attrs;
using graph::attrs_of;

ValueId activation(GraphBuilder& b, ValueId x, ops::Activation act) {
  using A = ops::Activation;
  switch (act) {
    case A::None: return x;
    case A::Relu: return b.op("Relu", {x});
    case A::Tanh: return b.op("Tanh", {x});
    case A::Gelu: return b.op("Gelu", {x});
    case A::QuickGelu: return b.op("vkfuse.QuickGelu", {x});
    case A::GeluTanh: {
      Attrs a;
      a.set_string("approximate", "tanh");
      return b.op("Gelu", {x}, a);
    }
    default: throw Error("graph layers: activation " + std::to_string(int(act)) + " has no node (a bug in vkfuse)");
  }
}

ValueId linear(GraphBuilder& b, ValueId x, ValueId w, ValueId bias, ops::Activation act) {
  std::vector<ValueId> in = {x, w};
  if (bias != kNone) in.push_back(bias);
  return activation(b, b.op("Gemm", in, attrs_of({{"transB", 1}})), act);
}

ValueId linear(GraphBuilder& b, ValueId x, const std::string& name, bool bias, ops::Activation act) {
  return linear(b, x, b.weight(name + ".weight"), bias ? b.weight(name + ".bias") : kNone, act);
}

ValueId layer_norm(GraphBuilder& b, ValueId x, const std::string& name, float eps) {
  Attrs a = attrs_of({{"axis", -1}});
  a.set_float("epsilon", eps);
  return b.op("LayerNormalization", {x, b.weight(name + ".weight"), b.weight(name + ".bias")}, a);
}

ValueId add(GraphBuilder& b, ValueId x, ValueId y) { return b.op("Add", {x, y}); }

ValueId reshape(GraphBuilder& b, ValueId x, const Shape& shape) {
  if (b.shape(x) == shape) return x;
  return b.op("Reshape", {x, b.ints(shape)}, attrs_of({{"allowzero", 1}}));  // a 0 is a size, not "keep"
}

namespace {

// Rows per batch entry of `rows` rows (an empty batch has none).
int64_t per_batch(int64_t rows, int64_t batch) { return batch > 0 ? rows / batch : 0; }

// Rows [r0, r0 + n) of the model's tensor `name` ([R, C] or [R]), made once.
ValueId rows_of(GraphBuilder& b, const std::string& name, int64_t r0, int64_t n) {
  return b.made(name + "#rows" + std::to_string(r0) + "+" + std::to_string(n), [&](const graph::WeightFn::Read& read) {
    const auto full = read(name);
    const int64_t cols = full->shape.size() == 2 ? full->shape[1] : 1;
    HostArray a = HostArray::zeros(Elem::Float, full->shape.size() == 2 ? Shape{n, cols} : Shape{n});
    std::memcpy(a.f.data(), full->f.data() + r0 * cols, size_t(n * cols) * 4);
    return a;
  });
}

// The model's tensors `names` stacked along their first axis, made once.
ValueId stacked(GraphBuilder& b, const std::vector<std::string>& names) {
  std::string key = "stack";
  for (const auto& n : names) key += ":" + n;
  return b.made(key, [&](const graph::WeightFn::Read& read) {
    std::vector<std::shared_ptr<const HostArray>> parts;
    int64_t rows = 0;
    for (const auto& n : names) {
      parts.push_back(read(n));
      rows += parts.back()->shape[0];
    }
    Shape s = parts[0]->shape;
    s[0] = rows;
    HostArray a = HostArray::zeros(Elem::Float, s);
    size_t at = 0;
    for (const auto& p : parts) {
      std::memcpy(a.f.data() + at, p->f.data(), p->f.size() * 4);
      at += p->f.size();
    }
    return a;
  });
}

// [B·T, ld] rows -> heads [B, H, T, D] of the E columns from `col` (views: Slice, Reshape,
// Transpose); `keys` gives kᵀ [B, H, D, T] instead.
ValueId heads(GraphBuilder& b, ValueId t, int64_t batch, int64_t h, int64_t col, int64_t e, bool keys) {
  const int64_t ld = b.dim(t, 1), len = per_batch(b.dim(t, 0), batch);
  ValueId x = reshape(b, t, {batch, len, ld});
  if (col != 0 || e != ld) x = b.op("Slice", {x, b.ints({col}), b.ints({col + e}), b.ints({2})});
  x = reshape(b, x, {batch, len, h, e / h});
  Attrs perm;
  perm.set_ints("perm", keys ? std::vector<int64_t>{0, 2, 3, 1} : std::vector<int64_t>{0, 2, 1, 3});
  return b.op("Transpose", {x}, perm);
}

}  // namespace

AttentionWeights torch_attention(GraphBuilder& b, const std::string& p, Sources src, bool bias, bool packed) {
  AttentionWeights w;
  const std::string in = p + "in_proj_weight", in_b = p + "in_proj_bias";
  const int64_t e = b.shape(b.weight(p + "out_proj.weight"))[0];
  if (packed && src == Sources::Self) {
    w.qkv_w = b.weight(in);
    if (bias) w.qkv_b = b.weight(in_b);
  } else if (packed && src == Sources::Three) {
    w.q_w = rows_of(b, in, 0, e);
    w.k_w = rows_of(b, in, e, e);
    w.v_w = rows_of(b, in, 2 * e, e);
    if (bias) {
      w.q_b = rows_of(b, in_b, 0, e);
      w.k_b = rows_of(b, in_b, e, e);
      w.v_b = rows_of(b, in_b, 2 * e, e);
    }
  } else if (packed) {
    w.q_w = rows_of(b, in, 0, e);
    w.kv_w = rows_of(b, in, e, 2 * e);
    if (bias) {
      w.q_b = rows_of(b, in_b, 0, e);
      w.kv_b = rows_of(b, in_b, e, 2 * e);
    }
  } else {
    w.q_w = b.weight(p + "q_proj_weight");
    w.k_w = b.weight(p + "k_proj_weight");
    w.v_w = b.weight(p + "v_proj_weight");
    if (bias) {
      w.q_b = rows_of(b, in_b, 0, e);
      w.k_b = rows_of(b, in_b, e, e);
      w.v_b = rows_of(b, in_b, 2 * e, e);
    }
  }
  w.out_w = b.weight(p + "out_proj.weight");
  if (bias) w.out_b = b.weight(p + "out_proj.bias");
  return w;
}

AttentionWeights separate_attention(GraphBuilder& b, const std::string& p, const LayerNames& n) {
  AttentionWeights w;
  w.qkv_w = stacked(b, {p + n.q + ".weight", p + n.k + ".weight", p + n.v + ".weight"});
  w.qkv_b = stacked(b, {p + n.q + ".bias", p + n.k + ".bias", p + n.v + ".bias"});
  w.out_w = b.weight(p + n.out + ".weight");
  w.out_b = b.weight(p + n.out + ".bias");
  return w;
}

ValueId attention(GraphBuilder& b, ValueId x, ValueId mem, int64_t batch, int64_t h, const AttentionWeights& w,
                  const Masks& m, ValueId residual, ValueId* weights, ValueId value) {
  const int64_t e = b.shape(w.out_w)[0];
  ValueId q, k, v;
  if (mem == kNone && w.qkv_w != kNone) {
    const ValueId qkv = linear(b, x, w.qkv_w, w.qkv_b);  // one [B·L, 3E] product for Q, K and V
    q = heads(b, qkv, batch, h, 0, e, false);
    k = heads(b, qkv, batch, h, e, e, true);
    v = heads(b, qkv, batch, h, 2 * e, e, false);
  } else if (w.kv_w != kNone) {
    q = heads(b, linear(b, x, w.q_w, w.q_b), batch, h, 0, e, false);
    const ValueId kv = linear(b, mem == kNone ? x : mem, w.kv_w, w.kv_b);  // K and V of one memory
    k = heads(b, kv, batch, h, 0, e, true);
    v = heads(b, kv, batch, h, e, e, false);
  } else {
    const ValueId src = mem == kNone ? x : mem;
    q = heads(b, linear(b, x, w.q_w, w.q_b), batch, h, 0, e, false);
    k = heads(b, linear(b, src, w.k_w, w.k_b), batch, h, 0, e, true);
    v = heads(b, linear(b, value == kNone ? src : value, w.v_w, w.v_b), batch, h, 0, e, false);
  }
  const int64_t len = b.dim(q, 2), keys = b.dim(k, 3);
  std::vector<ValueId> in = {q, k, v};
  std::vector<int64_t> kinds;
  if (m.key_padding != kNone) {
    in.push_back(reshape(b, m.key_padding, {batch, 1, 1, keys}));
    kinds.push_back(0);
  }
  if (m.attn_mask != kNone) {
    in.push_back(reshape(b, m.attn_mask, {len, keys}));
    kinds.push_back(1);
  }
  Attrs a;
  a.set_ints("masks", kinds);
  a.set_int("heads_merged", 1);  // written as the Transpose below reads it
  a.set_int("causal", m.causal ? 1 : 0);
  a.set_int("score", int64_t(w.score));
  const std::vector<ValueId> r = b.node("vkfuse.Attention", in, a, weights ? 2 : 1);
  if (weights) *weights = r[1];
  Attrs merge;
  merge.set_ints("perm", {0, 2, 1, 3});
  const ValueId merged = reshape(b, b.op("Transpose", {r[0]}, merge), {batch * len, e});
  const ValueId y = linear(b, merged, w.out_w, w.out_b);
  return residual == kNone ? y : add(b, y, residual);
}

LayerNames torch_names(const std::string& prefix) {
  return {prefix + "layers.{i}.", "self_attn.", "", "", "", "", "linear1", "linear2", "norm1", "norm2"};
}

namespace {
std::string layer_at(const LayerNames& n, int64_t i) {
  std::string p = n.layer;
  const size_t at = p.find("{i}");
  if (at != std::string::npos) p.replace(at, 3, std::to_string(i));
  return p;
}

AttentionWeights self_attention(GraphBuilder& b, const std::string& p, const LayerNames& n) {
  return n.in_proj.empty() ? separate_attention(b, p, n) : torch_attention(b, p + n.in_proj, Sources::Self);
}

ValueId feed_forward(GraphBuilder& b, ValueId x, const TransformerConfig& c, const std::string& p, const LayerNames& n,
                     ValueId residual) {
  const ValueId h = linear(b, x, p + n.fc1, true, c.activation);
  const ValueId y = linear(b, h, p + n.fc2);
  return residual == kNone ? y : add(b, y, residual);
}
}  // namespace

ValueId encoder_layer(GraphBuilder& b, ValueId x, int64_t batch, const TransformerConfig& c, const std::string& p,
                      const LayerNames& n, const Masks& m) {
  const AttentionWeights w = self_attention(b, p, n);
  const float eps = c.layer_norm_eps;
  if (c.norm_first) {
    // x1 = x + SA(LN1(x)); y = x1 + FF(LN2(x1))
    const ValueId x1 = attention(b, layer_norm(b, x, p + n.norm1, eps), kNone, batch, c.nhead, w, m, x);
    return feed_forward(b, layer_norm(b, x1, p + n.norm2, eps), c, p, n, x1);
  }
  // x1 = LN1(x + SA(x)); y = LN2(x1 + FF(x1))
  const ValueId x1 = layer_norm(b, attention(b, x, kNone, batch, c.nhead, w, m, x), p + n.norm1, eps);
  return layer_norm(b, feed_forward(b, x1, c, p, n, x1), p + n.norm2, eps);
}

ValueId encoder(GraphBuilder& b, ValueId x, int64_t batch, const TransformerConfig& c, const LayerNames& n,
                const Masks& m, const std::string& final_norm) {
  for (int64_t i = 0; i < c.num_layers; ++i) x = encoder_layer(b, x, batch, c, layer_at(n, i), n, m);
  return final_norm.empty() ? x : layer_norm(b, x, final_norm, kFinalNormEps);
}

ValueId decoder_layer(GraphBuilder& b, ValueId x, ValueId memory, int64_t batch, const TransformerConfig& c,
                      const std::string& p, const Masks& self, const Masks& cross, ValueId* cross_weights) {
  const LayerNames n = torch_names();
  const AttentionWeights sw = torch_attention(b, p + "self_attn.", Sources::Self);
  const AttentionWeights cw = torch_attention(b, p + "multihead_attn.", Sources::Memory);
  const float eps = c.layer_norm_eps;
  if (c.norm_first) {
    // x1 = x + SA(LN1(x)); x2 = x1 + CA(LN2(x1), mem); y = x2 + FF(LN3(x2))
    const ValueId x1 = attention(b, layer_norm(b, x, p + "norm1", eps), kNone, batch, c.nhead, sw, self, x);
    const ValueId x2 =
        attention(b, layer_norm(b, x1, p + "norm2", eps), memory, batch, c.nhead, cw, cross, x1, cross_weights);
    return feed_forward(b, layer_norm(b, x2, p + "norm3", eps), c, p, n, x2);
  }
  // x1 = LN1(x + SA(x)); x2 = LN2(x1 + CA(x1, mem)); y = LN3(x2 + FF(x2))
  const ValueId x1 = layer_norm(b, attention(b, x, kNone, batch, c.nhead, sw, self, x), p + "norm1", eps);
  const ValueId x2 =
      layer_norm(b, attention(b, x1, memory, batch, c.nhead, cw, cross, x1, cross_weights), p + "norm2", eps);
  return layer_norm(b, feed_forward(b, x2, c, p, n, x2), p + "norm3", eps);
}

ValueId patch_embedding(GraphBuilder& b, ValueId image, const std::string& weight, const std::string& bias) {
  const ValueId w = b.weight(weight);
  const int64_t e = b.shape(w)[0], p = b.shape(w)[2];
  std::vector<ValueId> in = {image, w};
  if (!bias.empty()) in.push_back(b.weight(bias));
  Attrs a;
  a.set_ints("kernel_shape", {p, p});
  a.set_ints("strides", {p, p});
  const ValueId y = b.op("Conv", in, a);  // [B, E, H/P, W/P]
  const int64_t batch = b.dim(y, 0), n = b.dim(y, 2) * b.dim(y, 3);
  Attrs perm;
  perm.set_ints("perm", {0, 2, 1});
  return b.op("Transpose", {reshape(b, y, {batch, e, n})}, perm);  // [B, N, E]
}

ValueId class_token_sequence(GraphBuilder& b, ValueId patches, const std::string& cls, const std::string& pos) {
  const int64_t batch = b.dim(patches, 0), n = b.dim(patches, 1) + (cls.empty() ? 0 : 1), e = b.dim(patches, 2);
  ValueId x = patches;
  if (!cls.empty()) {
    const ValueId token = b.op("Expand", {reshape(b, b.weight(cls), {1, 1, e}), b.ints({batch, 1, e})});
    x = b.op("Concat", {token, patches}, attrs_of({{"axis", 1}}));  // [B, N + 1, E]
  }
  const ValueId y = add(b, x, reshape(b, b.weight(pos), {n, e}));
  return reshape(b, y, {batch * n, e});
}

ValueId token_embedding(GraphBuilder& b, ValueId ids, int64_t batch, const std::string& table, const std::string& pos,
                        ValueId type_ids, const std::string& types) {
  ValueId x = b.op("Gather", {b.weight(table), ids});  // [B·T, E]
  if (type_ids != kNone) x = add(b, x, b.op("Gather", {b.weight(types), type_ids}));
  const int64_t t = per_batch(b.dim(ids, 0), batch), e = b.dim(x, 1);
  const ValueId pos_table = b.weight(pos);  // [P, E] or [1, P, E]
  const ValueId rows = reshape(b, pos_table, {shape_numel(b.shape(pos_table)) / e, e});
  const ValueId positions = b.op("Slice", {rows, b.ints({0}), b.ints({t}), b.ints({0})});  // [T, E]
  return reshape(b, add(b, reshape(b, x, {batch, t, e}), positions), {batch * t, e});
}

ValueId first_rows(GraphBuilder& b, ValueId x, int64_t batch) {
  const int64_t t = per_batch(b.dim(x, 0), batch), e = b.dim(x, 1);
  const ValueId rows = b.op("Slice", {reshape(b, x, {batch, t, e}), b.ints({0}), b.ints({1}), b.ints({1})});
  return reshape(b, rows, {batch, e});
}

ValueId rows_at(GraphBuilder& b, ValueId x, ValueId rows) { return b.op("Gather", {x, rows}); }

}  // namespace vkfuse::detail::layers
