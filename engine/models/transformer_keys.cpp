// Transformer layer keys, read and checked.
#include "models/transformer_keys.h"

#include "vkfuse/error.hpp"

namespace vkfuse::detail {

TransformerConfig read_transformer_layer(ConfigReader& f) {
  TransformerConfig t;
  t.d_model = f.size("d_model");
  t.nhead = f.size("nhead");
  t.dim_feedforward = f.size("dim_feedforward");
  t.activation = f.choice("activation", {"relu", "gelu"}, "relu") == std::string("gelu") ? ops::Activation::Gelu
                                                                                         : ops::Activation::Relu;
  t.layer_norm_eps = static_cast<float>(f.number("layer_norm_eps", 1e-5));
  t.norm_first = f.boolean("norm_first", false);
  return t;
}

TransformerConfig read_transformer(ConfigReader& f) {
  TransformerConfig t = read_transformer_layer(f);
  t.num_layers = f.layers("num_layers");
  t.final_norm = f.boolean("final_norm", false);
  f.validate(t);
  return t;
}

}  // namespace vkfuse::detail
