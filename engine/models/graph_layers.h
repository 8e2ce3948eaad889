#pragma once
// The pieces several archs' graphs share, written once as graph nodes (graph/builder.h):
// linear layers, norms, multi-head attention (self and cross, packed or separate
// projections, masks, the head-averaged weights), the transformer encoder and decoder layers
// in their pre- and post-norm forms, patch embedding with a class token, token and position
// embedding, pooling. Values are 2-D rows [B·T, E] between layers, so every projection is
// one matmul with its bias, activation and residual in the epilogue.
#include <string>

#include "graph/builder.h"
#include "models/standard_layers.h"
#include "vkfuse/transformer.hpp"

namespace vkfuse::detail::layers {

using graph::GraphBuilder;
using graph::ValueId;
using graph::kNone;

// y = act(x·Wᵀ + b) over x [R, in] (W [out, in] as PyTorch stores it; b may be kNone).
ValueId linear(GraphBuilder& b, ValueId x, ValueId w, ValueId bias, ops::Activation act = ops::Activation::None);
// The module `name` (name.weight, name.bias; `bias` false: no bias).
ValueId linear(GraphBuilder& b, ValueId x, const std::string& name, bool bias = true,
               ops::Activation act = ops::Activation::None);
// The activation as its node (Relu, Gelu, GeluTanh, QuickGelu, Tanh).
ValueId activation(GraphBuilder& b, ValueId x, ops::Activation act);
// LayerNorm over the last axis with name.weight and name.bias.
ValueId layer_norm(GraphBuilder& b, ValueId x, const std::string& name, float eps);
ValueId add(GraphBuilder& b, ValueId x, ValueId y);
ValueId reshape(GraphBuilder& b, ValueId x, const Shape& shape);

// Additive masks as the attention takes them: key padding [B, S], an attention mask [L, S]
// (either kNone), and a causal mask computed in the kernel.
struct Masks {
  ValueId key_padding = kNone, attn_mask = kNone;
  bool causal = false;
};

// The weights of one nn.MultiheadAttention-like block, as graph values (biases may be kNone):
// q, k, v projections (qkv: the three stacked, for self-attention; kv: k and v stacked, for
// cross-attention over one memory) and the output projection.
struct AttentionWeights {
  ValueId q_w = kNone, q_b = kNone, k_w = kNone, k_b = kNone, v_w = kNone, v_b = kNone;
  ValueId qkv_w = kNone, qkv_b = kNone, kv_w = kNone, kv_b = kNone;
  ValueId out_w = kNone, out_b = kNone;
  ops::Score score = ops::Score::Dot;
};
// What the projections read: one input (q, k and v in one product), a query and one memory
// (k and v in one product), or three inputs.
enum class Sources { Self, Memory, Three };
// nn.MultiheadAttention's names under `prefix` (in_proj_weight, in_proj_bias, out_proj.*, or
// q/k/v_proj_weight where kdim or vdim differ: `packed` false).
AttentionWeights torch_attention(GraphBuilder& b, const std::string& prefix, Sources src, bool bias = true,
                                 bool packed = true);
// A library's separate q, k, v and out modules (each .weight and .bias), q, k and v stacked
// once for self-attention.
AttentionWeights separate_attention(GraphBuilder& b, const std::string& p, const LayerNames& n);

// out = MHA(x, mem, mem) [B·L, E] (+ residual), x [B·L, E], mem [B·S, Ek] (kNone: x, self-
// attention); heads h. `weights`: where to put the head-averaged probabilities [B, L, S].
ValueId attention(GraphBuilder& b, ValueId x, ValueId mem, int64_t batch, int64_t h, const AttentionWeights& w,
                  const Masks& m, ValueId residual = kNone, ValueId* weights = nullptr, ValueId value = kNone);

// One nn.TransformerEncoderLayer (batch_first, pre- or post-norm as c says) over x [B·L, E].
ValueId encoder_layer(GraphBuilder& b, ValueId x, int64_t batch, const TransformerConfig& c, const std::string& p,
                      const LayerNames& n, const Masks& m);
// `layers` of them (n.layer with "{i}"), then the final norm `final_norm` (eps 1e-5) if any.
ValueId encoder(GraphBuilder& b, ValueId x, int64_t batch, const TransformerConfig& c, const LayerNames& n,
                const Masks& m, const std::string& final_norm = "");
// model-format.md builds the final norm as LayerNorm(d_model), whose eps is PyTorch's default
// whatever layer_norm_eps says.
constexpr float kFinalNormEps = 1e-5f;

// One nn.TransformerDecoderLayer over x [B·L, E] and memory [B·S, E].
ValueId decoder_layer(GraphBuilder& b, ValueId x, ValueId memory, int64_t batch, const TransformerConfig& c,
                      const std::string& p, const Masks& self, const Masks& cross, ValueId* cross_weights);

// The layer names of nn.TransformerEncoderLayer (under "layers.{i}." of `prefix`).
LayerNames torch_names(const std::string& prefix = "");

// Conv2d(C, E, P, stride P) over image [B, C, H, W], as [B, N, E] tokens (N = (H/P)·(W/P)).
ValueId patch_embedding(GraphBuilder& b, ValueId image, const std::string& weight, const std::string& bias);
// The ViT sequence [B·(N+1), E]: the class token cls ([E] or [1, 1, E]) then the patches
// [B, N, E], plus the positions pos ([N+1, E] or [1, N+1, E]); without cls ("") [B·N, E].
ValueId class_token_sequence(GraphBuilder& b, ValueId patches, const std::string& cls, const std::string& pos);
// Token rows table[ids] [B·T, E] (ids [B·T]), plus types[type_ids] where given (BERT's token
// types), plus the first T rows of positions [P, E] each.
ValueId token_embedding(GraphBuilder& b, ValueId ids, int64_t batch, const std::string& table, const std::string& pos,
                        ValueId type_ids = kNone, const std::string& types = "");
// Row 0 of each of the B sequences of x [B·T, E]: [B, E].
ValueId first_rows(GraphBuilder& b, ValueId x, int64_t batch);
// Rows of x [R, E] at rows [B] (int): [B, E].
ValueId rows_at(GraphBuilder& b, ValueId x, ValueId rows);

}  // namespace vkfuse::detail::layers
