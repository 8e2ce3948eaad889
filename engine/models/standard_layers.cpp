// The standard archs' layer names and the tensors they imply.
#include "models/standard_layers.h"

#include <algorithm>

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

namespace {
std::string layer_prefix(const LayerNames& n, int64_t i) {
  std::string p = n.layer;
  const auto at = p.find("{i}");
  return at == std::string::npos ? p : p.replace(at, 3, std::to_string(i));
}
}  // namespace

TensorList layer_tensors(const LayerNames& n, int64_t layers, int64_t e, int64_t f) {
  TensorList t;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string p = layer_prefix(n, i);
    auto lin = [&](const std::string& m, int64_t out, int64_t in) {
      t.push_back({p + m + ".weight", {out, in}});
      t.push_back({p + m + ".bias", {out}});
    };
    if (!n.in_proj.empty()) {
      t.push_back({p + n.in_proj + "in_proj_weight", {3 * e, e}});
      t.push_back({p + n.in_proj + "in_proj_bias", {3 * e}});
      lin(n.in_proj + "out_proj", e, e);
    } else {
      for (const std::string* m : {&n.q, &n.k, &n.v, &n.out}) lin(*m, e, e);
    }
    t.push_back({p + n.norm1 + ".weight", {e}});
    t.push_back({p + n.norm1 + ".bias", {e}});
    lin(n.fc1, f, e);
    lin(n.fc2, e, f);
    t.push_back({p + n.norm2 + ".weight", {e}});
    t.push_back({p + n.norm2 + ".bias", {e}});
  }
  return t;
}

TransformerConfig encoder_config(int64_t width, int64_t heads, int64_t feedforward, int64_t layers,
                                 ops::Activation act, float eps, bool norm_first) {
  TransformerConfig t;
  t.d_model = width;
  t.nhead = heads;
  t.dim_feedforward = feedforward;
  t.num_layers = layers;
  t.activation = act;
  t.layer_norm_eps = eps;
  t.norm_first = norm_first;
  return t;
}

}  // namespace vkfuse::detail
