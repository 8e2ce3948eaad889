// arch vit (docs/model-format.md, "Standard architectures"): torchvision's
// VisionTransformer as torchvision 0.14 saves it. Patches by a strided Conv2d, a class token,
// learned positions, pre-norm layers (ln_1, ln_2, GELU MLP, eps 1e-6), encoder.ln on the
// class token, and the head (pre_logits + tanh when representation_size is set).
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/standard_layers.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

struct VitConfig {
  int64_t image_size = 0, patch_size = 0, num_layers = 0, num_heads = 0, hidden_dim = 0, mlp_dim = 0;
  int64_t num_classes = 1000, representation_size = 0;  // 0: none
  float layer_norm_eps = 1e-6f;

  int64_t tokens() const { return (image_size / patch_size) * (image_size / patch_size) + 1; }
  TransformerConfig encoder() const {
    return encoder_config(hidden_dim, num_heads, mlp_dim, num_layers, ops::Activation::Gelu, layer_norm_eps, true);
  }
  void validate() const {
    if (image_size % patch_size)
      throw Error("image_size " + std::to_string(image_size) + " is not a multiple of patch_size " +
                  std::to_string(patch_size));
    encoder().validate();
  }
};

const LayerNames kNames{"encoder.layers.encoder_layer_{i}.", "self_attention.", "", "", "", "", "mlp.0", "mlp.3",
                        "ln_1", "ln_2"};

class VitArch final : public GraphArchOf<VitConfig> {
 public:
  explicit VitArch(const VitConfig& c) : GraphArchOf(c, "vit") {}

  TensorList tensors() const override {
    const int64_t e = c_.hidden_dim, p = c_.patch_size;
    TensorList t = {{"class_token", {1, 1, e}},
                    {"conv_proj.weight", {e, 3, p, p}},
                    {"conv_proj.bias", {e}},
                    {"encoder.pos_embedding", {1, c_.tokens(), e}}};
    for (auto& x : layer_tensors(kNames, c_.num_layers, e, c_.mlp_dim)) t.push_back(x);
    t.push_back({"encoder.ln.weight", {e}});
    t.push_back({"encoder.ln.bias", {e}});
    const int64_t head_in = c_.representation_size ? c_.representation_size : e;
    if (c_.representation_size) {
      t.push_back({"heads.pre_logits.weight", {c_.representation_size, e}});
      t.push_back({"heads.pre_logits.bias", {c_.representation_size}});
    }
    t.push_back({"heads.head.weight", {c_.num_classes, head_in}});
    t.push_back({"heads.head.bias", {c_.num_classes}});
    return t;
  }

  std::string unsupported(const std::string& name) const override {
    if (name.rfind("conv_proj.", 0) == 0)
      return "a convolutional stem (conv_stem_configs) is not implemented";
    return "";
  }

  Prepared prepare(const InputSet& in, bool /*need_weights: the arch has none*/) const override {
    only_inputs(in, {"pixel_values"}, "vit");
    Prepared p;
    DeviceInput x = image_input(in, "pixel_values", 3, c_.image_size);
    const int64_t b = x.shape[0];
    p.inputs["pixel_values"] = std::move(x);
    p.outputs["logits"] = {{b, c_.num_classes}, {b, c_.num_classes}};
    p.outputs["pooled"] = {{b, c_.hidden_dim}, {b, c_.hidden_dim}};
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    const graph::ValueId image = graph_input(b, p, "pixel_values");
    const int64_t batch = p.inputs.at("pixel_values").shape[0];
    const graph::ValueId patches = layers::patch_embedding(b, image, "conv_proj.weight", "conv_proj.bias");
    graph::ValueId x = layers::class_token_sequence(b, patches, "class_token", "encoder.pos_embedding");
    x = layers::encoder(b, x, batch, c_.encoder(), kNames, {});
    // encoder.ln is per token and only the class token is read: normalize that row alone.
    const graph::ValueId pooled = layers::layer_norm(b, layers::first_rows(b, x, batch), "encoder.ln", c_.layer_norm_eps);
    graph::ValueId h = pooled;
    if (c_.representation_size) h = layers::linear(b, h, "heads.pre_logits", true, ops::Activation::Tanh);
    b.output("pooled", pooled);
    b.output("logits", layers::linear(b, h, "heads.head"));
  }
};

}  // namespace

std::unique_ptr<Arch> parse_vit(ConfigReader& f) {
  VitConfig c;
  c.image_size = f.size("image_size");
  c.patch_size = f.size("patch_size");
  c.num_layers = f.layers("num_layers");
  c.num_heads = f.size("num_heads");
  c.hidden_dim = f.size("hidden_dim");
  c.mlp_dim = f.size("mlp_dim");
  c.num_classes = f.size("num_classes", 1000);
  c.representation_size = f.optional_size("representation_size").value_or(0);
  c.layer_norm_eps = static_cast<float>(f.number("layer_norm_eps", 1e-6));
  f.validate(c);
  return std::make_unique<VitArch>(c);
}

}  // namespace vkfuse::detail
