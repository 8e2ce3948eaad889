// arch vision_text_fusion (docs/model-format.md §2): a vision and a text encoder joined by
// cross-attention fusion layers, a joint encoder, pooling and a task head.
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/transformer_keys.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class VisionTextFusionArch final : public GraphArchOf<FusionConfig> {
 public:
  explicit VisionTextFusionArch(const FusionConfig& c) : GraphArchOf(c, "vision_text_fusion") {}

  TensorList tensors() const override { return c_.tensors(); }
  const char* picture_input() const override { return "image"; }

  Prepared prepare(const InputSet& in, bool need_weights) const override {
    const auto& c = c_;
    only_inputs(in, {"image", "input_ids", "attention_mask"}, "vision_text_fusion");
    const auto& img = in.at("image");
    const auto& ids = in.at("input_ids");
    if (img.shape.size() != 4 || img.shape[1] != c.in_channels || img.shape[2] != c.image_size ||
        img.shape[3] != c.image_size)
      throw Error(in.where("image") + " has shape " + shape_string(img.shape) + ", expected [B, " +
                  std::to_string(c.in_channels) + ", " + std::to_string(c.image_size) + ", " +
                  std::to_string(c.image_size) + "]");
    const int64_t b = img.shape[0];
    if (ids.shape.size() != 2 || ids.shape[0] != b)
      throw Error(in.where("input_ids") + " has shape " + shape_string(ids.shape) + ", expected [" +
                  std::to_string(b) + ", T]");
    const int64_t t = ids.shape[1], nv = c.image_tokens();
    if (t < 1 || t > c.max_text_len)
      throw Error(in.where("input_ids") + " has " + std::to_string(t) + " tokens; the model takes 1 to " +
                  std::to_string(c.max_text_len));
    std::vector<uint8_t> am;
    if (in.contains("attention_mask")) {
      const auto& a = in.at("attention_mask");
      if (a.shape != ids.shape)
        throw Error(in.where("attention_mask") + " has shape " + shape_string(a.shape) + ", expected " +
                    shape_string(ids.shape));
      if (a.dtype == DType::I64 || a.dtype == DType::I32)
        for (int64_t v : in.to_i64("attention_mask")) am.push_back(v != 0);
      else
        am = in.to_mask("attention_mask");
    }
    const std::vector<int64_t> token_ids = in.to_i64("input_ids");  // its errors name the input already
    FusionBatch batch;
    try {
      batch = FusionBatch::make(c, {}, b, token_ids, t, am.empty() ? nullptr : &am);
    } catch (const Error& e) {
      throw Error(in.label() + ": " + e.what());
    }
    Prepared p;
    p.inputs["image"] = float_input(in, "image", img.shape);
    DeviceInput& id = p.inputs["ids"];
    id.shape = {b, t};
    id.dtype = DType::I32;
    id.i32 = std::move(batch.ids);
    p.inputs["text_pad"] = floats_of({b, t}, batch.text_pad());
    p.inputs["joint_pad"] = floats_of({b, t + nv}, batch.joint_pad(c));
    p.inputs["pool_text"] = floats_of({b, 1, t}, batch.pool_text(c));
    p.inputs["pool_image"] = floats_of({1, 1, nv}, batch.pool_image(c));
    p.outputs["logits"] = {{b, c.num_outputs}, {b, c.num_outputs}};
    p.outputs["probs"] = {{b, c.num_outputs}, {b, c.num_outputs}};
    if (need_weights && c.fusion_layers == 0)
      throw Error(in.label() + ": cross_attn_weights were asked for, but the model has no fusion layers");
    if (need_weights) p.outputs["cross_attn_weights"] = {{b, t, nv}, {b, t, nv}};
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    using graph::ValueId;
    const FusionConfig& c = c_;
    const int64_t e = c.layer.d_model, batch = p.inputs.at("ids").shape[0], t = p.inputs.at("ids").shape[1];
    const int64_t nv = c.image_tokens();
    const ValueId text_pad = graph_input(b, p, "text_pad");
    // Vision: patches (+ class token) + positions, the encoder, its norm.
    ValueId v = layers::class_token_sequence(
        b, layers::patch_embedding(b, graph_input(b, p, "image"), "vision.patch_embed.weight", "vision.patch_embed.bias"),
        c.use_cls_token ? "vision.cls_token" : "", "vision.pos_embed");
    v = layers::encoder(b, v, batch, c.encoder(c.vision_layers), layers::torch_names("vision.encoder."), {});
    v = layers::layer_norm(b, v, "vision.norm", c.layer.layer_norm_eps);
    // Text: tokens + positions, the encoder over the real tokens, its norm.
    const ValueId ids = layers::reshape(b, graph_input(b, p, "ids"), {batch * t});
    ValueId x = layers::token_embedding(b, ids, batch, "text.token_embed.weight", "text.pos_embed");
    layers::Masks text;
    text.key_padding = text_pad;
    x = layers::encoder(b, x, batch, c.encoder(c.text_layers), layers::torch_names("text.encoder."), text);
    x = layers::layer_norm(b, x, "text.norm", c.layer.layer_norm_eps);
    // Fusion: text attends to the image (and the image to the text), both from the layer's inputs.
    ValueId weights = graph::kNone;
    for (int64_t i = 0; i < c.fusion_layers; ++i) {
      const std::string l = "fusion.layers." + std::to_string(i) + ".";
      const bool last = i + 1 == c.fusion_layers;
      const ValueId nt = layers::decoder_layer(b, x, v, batch, c.layer, l + "text_to_image.", text, {},
                                               last && p.outputs.count("cross_attn_weights") ? &weights : nullptr);
      if (c.bidirectional) v = layers::decoder_layer(b, v, x, batch, c.layer, l + "image_to_text.", {}, text, nullptr);
      x = nt;
    }
    // Joint: [text; image] through the joint encoder (padding keys masked).
    const ValueId joint_in = b.op("Concat", {layers::reshape(b, x, {batch, t, e}), layers::reshape(b, v, {batch, nv, e})},
                                  graph::attrs_of({{"axis", 1}}));
    layers::Masks joint;
    joint.key_padding = graph_input(b, p, "joint_pad");
    const ValueId y = layers::reshape(
        b, layers::encoder(b, layers::reshape(b, joint_in, {batch * (t + nv), e}), batch, c.encoder(c.joint_layers),
                           layers::torch_names("joint."), joint),
        {batch, t + nv, e});
    // Pooling: rows 0 and T (the class tokens), or the means over the real text and the image.
    auto part = [&](int64_t from, int64_t n) {
      return b.op("Slice", {y, b.ints({from}), b.ints({from + n}), b.ints({1})});
    };
    ValueId feat;
    if (c.pool_cls) {
      feat = b.op("Concat", {part(0, 1), part(t, 1)}, graph::attrs_of({{"axis", 2}}));
    } else {
      const ValueId mt = b.op("MatMul", {graph_input(b, p, "pool_text"), part(0, t)});
      const ValueId mv = b.op("MatMul", {graph_input(b, p, "pool_image"), part(t, nv)});
      feat = b.op("Concat", {mt, mv}, graph::attrs_of({{"axis", 2}}));
    }
    const ValueId logits = layers::linear(b, layers::reshape(b, feat, {batch, 2 * e}), "head");
    b.output("logits", logits);
    b.output("probs", c.output_activation == FusionConfig::Output::Sigmoid ? b.op("Sigmoid", {logits})
                      : c.output_activation == FusionConfig::Output::Softmax
                          ? b.op("Softmax", {logits}, graph::attrs_of({{"axis", -1}}))
                          : logits);
    if (weights != graph::kNone) b.output("cross_attn_weights", weights);
  }
};

}  // namespace

std::unique_ptr<Arch> parse_vision_text_fusion(ConfigReader& f) {
  FusionConfig c;
  c.layer = read_transformer_layer(f);
  c.in_channels = f.size("in_channels");
  c.image_size = f.size("image_size");
  c.patch_size = f.size("patch_size");
  c.use_cls_token = f.boolean("use_cls_token", false);
  c.vision_layers = f.layers("vision_layers");
  c.vocab_size = f.size("vocab_size");
  c.max_text_len = f.size("max_text_len");
  c.text_layers = f.layers("text_layers");
  c.pad_token_id = f.integer("pad_token_id", 0);
  c.fusion_layers = f.layers("fusion_layers");
  c.joint_layers = f.layers("joint_layers");
  c.num_outputs = f.size("num_outputs");
  c.bidirectional = f.choice("fusion_mode", {"bidirectional", "text_to_image"}) == std::string("bidirectional");
  c.pool_cls = f.choice("pooling", {"cls", "mean"}) == std::string("cls");
  const std::string act = f.choice("output_activation", {"sigmoid", "softmax", "none"});
  c.output_activation = act == "sigmoid"   ? FusionConfig::Output::Sigmoid
                        : act == "softmax" ? FusionConfig::Output::Softmax
                                           : FusionConfig::Output::None;
  f.validate(c);
  return std::make_unique<VisionTextFusionArch>(c);
}

}  // namespace vkfuse::detail
