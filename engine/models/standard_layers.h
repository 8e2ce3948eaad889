#pragma once
// What the standard archs (vit, clip, bert) share: their libraries' names for one encoder
// layer (the graph layers, models/graph_layers.h, read the weights by these names; nothing is
// renamed or copied) and the tensors they imply.
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
// The nn.TransformerEncoderLayer config of a library's encoder (every standard arch's layers
// are one of these, pre- or post-norm).
TransformerConfig encoder_config(int64_t width, int64_t heads, int64_t feedforward, int64_t layers,
                                 ops::Activation act, float eps, bool norm_first);

}  // namespace vkfuse::detail
