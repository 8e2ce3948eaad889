#pragma once
// What the standard archs (vit, clip, bert) share: their libraries' names for one encoder
// layer, renamed into nn.TransformerEncoderLayer's (what engine/nn/transformer.cpp runs),
// the patch embedding, and small GPU and CPU steps (linear, norm, gather of rows).
#include <string>
#include <vector>

#include "models/arch.h"
#include "vkfuse/transformer.hpp"

namespace vkfuse::detail {

// One layer's weights as a library names them, under `layer` with "{i}" for the index.
// Either `in_proj` (nn.MultiheadAttention inside: in_proj_weight/in_proj_bias/out_proj) or
// separate q, k, v and out projections; each name a module with .weight and .bias.
struct LayerNames {
  std::string layer, in_proj, q, k, v, out, fc1, fc2, norm1, norm2;
};

// The state_dict() names and shapes of `layers` such layers of width e and feed-forward f.
TensorList layer_tensors(const LayerNames& n, int64_t layers, int64_t e, int64_t f);
// The same weights under nn.TransformerEncoder's names (layers.{i}.self_attn.in_proj_weight,
// linear1, linear2, norm1, norm2), q, k and v stacked into in_proj; copies.
WeightMap torch_layers(const WeightMap& w, const LayerNames& n, int64_t layers, int64_t e);

// The nn.TransformerEncoderLayer config of a library's encoder (every standard arch's layers
// are one of these, pre- or post-norm).
TransformerConfig encoder_config(int64_t width, int64_t heads, int64_t feedforward, int64_t layers,
                                 ops::Activation act, float eps, bool norm_first);

// A weight from the model's map, or an Error naming it.
const std::vector<float>& weight(const WeightMap& w, const std::string& name);

// ---- GPU steps ----
// y = act(x·Wᵀ + b): nn.Linear over the rows of x [.., in]; bias may be null.
void linear(Sequence& s, const Tensor& x, const Tensor& w, const Tensor* bias, const Tensor& y,
            ops::Activation act = ops::Activation::None);
// Conv2d(C, E, P, stride P) over image [B, C, H, W] as patches times the weight [E, C·P·P]:
// out [B, (H/P)·(W/P), E] may be a view (rows of a token sequence).
void patch_embedding(Sequence& s, const Tensor& image, int64_t patch, const Tensor& w, const Tensor* bias,
                     const Tensor& out);

// The ViT token sequence x [B, N + 1, E]: the class token (cls [E]) then the patches, plus
// the learned positions pos [N + 1, E] (torch.cat([class_token, patches], 1) + pos).
void class_token_embedding(Sequence& s, const Tensor& image, int64_t patch, const Tensor& w, const Tensor* bias,
                           const Tensor& cls, const Tensor& pos, const Tensor& x);

// ---- CPU steps, in the same order ----
std::vector<float> ref_linear(const float* x, int64_t rows, int64_t in, const std::vector<float>& w,
                              const std::vector<float>* bias, int64_t out, ops::Activation act = ops::Activation::None);
std::vector<float> ref_layer_norm(const float* x, int64_t rows, int64_t n, const WeightMap& w, const std::string& name,
                                  float eps);
// image [B, C, H, W] -> [B, N, E], N = (H/P)·(W/P) patches in row-major order.
std::vector<float> ref_patch_embedding(const float* image, int64_t b, int64_t c, int64_t hw, int64_t patch,
                                       const std::vector<float>& w, const std::vector<float>* bias, int64_t e);
std::vector<float> ref_class_token_embedding(const float* image, int64_t b, int64_t c, int64_t hw, int64_t patch,
                                             const std::vector<float>& w, const std::vector<float>* bias,
                                             const std::vector<float>& cls, const std::vector<float>& pos, int64_t e);
// Row 0 of each of the b sequences of n rows of e: [b, e].
std::vector<float> first_rows(const std::vector<float>& x, int64_t b, int64_t n, int64_t e);

}  // namespace vkfuse::detail
