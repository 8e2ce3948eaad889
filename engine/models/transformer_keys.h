#pragma once
// The config keys of a transformer layer (docs/model-format.md §2), shared by the encoder,
// decoder and fusion archs.
#include "models/config.h"
#include "vkfuse/transformer.hpp"

namespace vkfuse::detail {

// d_model, nhead, dim_feedforward, activation, layer_norm_eps, norm_first.
TransformerConfig read_transformer_layer(ConfigReader& config);
// Those, num_layers and final_norm; validated.
TransformerConfig read_transformer(ConfigReader& config);

}  // namespace vkfuse::detail
