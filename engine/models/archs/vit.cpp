// arch vit (docs/model-format.md, "Standard architectures"): torchvision's
// VisionTransformer as torchvision 0.14 saves it. Patches by a strided Conv2d, a class token,
// learned positions, pre-norm layers (ln_1, ln_2, GELU MLP, eps 1e-6), encoder.ln on the
// class token, and the head (pre_logits + tanh when representation_size is set).
#include "models/arch.h"
#include "models/standard_layers.h"
#include "runtime/workspace.h"
#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

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

class Program final : public ArchProgram {
 public:
  Program(Context& ctx, const VitConfig& c, const WeightMap& w)
      : c_(c),
        encoder_(ctx, c.encoder(), torch_layers(w, kNames, c.num_layers, c.hidden_dim)),
        conv_w_(ctx.matrix(c.hidden_dim, 3 * c.patch_size * c.patch_size, weight(w, "conv_proj.weight"))),
        conv_b_(ctx.tensor({c.hidden_dim}, weight(w, "conv_proj.bias"))),
        cls_(ctx.tensor({c.hidden_dim}, weight(w, "class_token"))),
        pos_(ctx.tensor({c.tokens(), c.hidden_dim}, weight(w, "encoder.pos_embedding"))),
        ln_w_(ctx.tensor({c.hidden_dim}, weight(w, "encoder.ln.weight"))),
        ln_b_(ctx.tensor({c.hidden_dim}, weight(w, "encoder.ln.bias"))),
        head_w_(ctx.matrix(c.num_classes, head_in(), weight(w, "heads.head.weight"))),
        head_b_(ctx.tensor({c.num_classes}, weight(w, "heads.head.bias"))) {
    if (c.representation_size) {
      pre_w_ = ctx.matrix(c.representation_size, c.hidden_dim, weight(w, "heads.pre_logits.weight"));
      pre_b_ = ctx.tensor({c.representation_size}, weight(w, "heads.pre_logits.bias"));
    }
  }

  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    const Tensor& image = in.at("pixel_values");
    const int64_t b = image.dim(0), n = c_.tokens(), e = c_.hidden_dim;
    Scratch scratch(s);
    Tensor x = scratch({b, n, e}), y = scratch({b, n, e});
    class_token_embedding(s, image, c_.patch_size, conv_w_, &conv_b_, cls_, pos_, x);
    encoder_.record(s, x, y);
    // encoder.ln is per token and only the class token is read: normalize that row alone.
    ops::LayerNormOptions o;
    o.eps = c_.layer_norm_eps;
    o.weight = &ln_w_;
    o.bias = &ln_b_;
    const Tensor& pooled = out.at("pooled");
    ops::layer_norm(s, y.view({b, e}, {n * e, 1}, 0), pooled, o);
    if (c_.representation_size) {
      Tensor h = scratch({b, c_.representation_size});
      linear(s, pooled, pre_w_, &pre_b_, h, ops::Activation::Tanh);
      linear(s, h, head_w_, &head_b_, out.at("logits"));
    } else {
      linear(s, pooled, head_w_, &head_b_, out.at("logits"));
    }
  }

 private:
  int64_t head_in() const { return c_.representation_size ? c_.representation_size : c_.hidden_dim; }
  VitConfig c_;
  TransformerEncoder encoder_;
  Tensor conv_w_, conv_b_, cls_, pos_, ln_w_, ln_b_, head_w_, head_b_, pre_w_, pre_b_;
};

class VitArch final : public ArchWith<VitConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const DeviceInput& image = p.inputs.at("pixel_values");
    const int64_t b = image.shape[0], n = c_.tokens(), e = c_.hidden_dim;
    const std::vector<float> x = ref_class_token_embedding(
        image.floats(), b, 3, c_.image_size, c_.patch_size, weight(w, "conv_proj.weight"), &weight(w, "conv_proj.bias"),
        weight(w, "class_token"), weight(w, "encoder.pos_embedding"), e);
    std::vector<float> y(x.size());
    ref::transformer_encoder(c_.encoder(), torch_layers(w, kNames, c_.num_layers, e), "", x.data(), b, n, nullptr,
                             nullptr, y.data());
    const std::vector<float> first = first_rows(y, b, n, e);
    std::vector<float> pooled = ref_layer_norm(first.data(), b, e, w, "encoder.ln", c_.layer_norm_eps);
    std::vector<float> logits;
    if (c_.representation_size) {
      auto h = ref_linear(pooled.data(), b, e, weight(w, "heads.pre_logits.weight"), &weight(w, "heads.pre_logits.bias"),
                          c_.representation_size, ops::Activation::Tanh);
      logits = ref_linear(h.data(), b, c_.representation_size, weight(w, "heads.head.weight"),
                          &weight(w, "heads.head.bias"), c_.num_classes);
    } else {
      logits = ref_linear(pooled.data(), b, e, weight(w, "heads.head.weight"), &weight(w, "heads.head.bias"),
                          c_.num_classes);
    }
    out.at("pooled").data = std::move(pooled);
    out.at("logits").data = std::move(logits);
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
