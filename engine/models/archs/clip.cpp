// arch clip (docs/model-format.md, "Standard architectures"): Hugging Face's CLIPModel. A
// ViT image tower (patches without bias, class embedding, pre_layrnorm, pre-norm layers,
// post_layernorm on the class token) and a causal text tower (token and position
// embeddings, final_layer_norm, pooled at the end-of-text token), each projected without
// bias and divided by its L2 norm; logits = exp(logit_scale) · cosine similarities.
#include <algorithm>
#include <cmath>

#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/hf_config.h"
#include "models/standard_layers.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

struct Tower {
  int64_t hidden = 0, intermediate = 0, heads = 0, layers = 0;
  ops::Activation act = ops::Activation::QuickGelu;
  float eps = 1e-5f;
  TransformerConfig encoder() const { return encoder_config(hidden, heads, intermediate, layers, act, eps, true); }
};

struct ClipConfig {
  int64_t projection_dim = 512;
  Tower vision, text;
  int64_t image_size = 224, patch_size = 32, channels = 3;
  int64_t vocab_size = 49408, max_positions = 77, eos_token_id = 49407;

  int64_t image_tokens() const { return (image_size / patch_size) * (image_size / patch_size) + 1; }
  // Checkpoints saved before text_config's eos_token_id was right say 2. Hugging Face then
  // pools at the largest id of each row (the end-of-text token, 49407, is the vocabulary's
  // last): transformers 4.31 to 4.5x decide by eos_token_id == 2, later versions by every
  // row's largest id being 49407. Either sign picks the largest id here; on a real CLIP
  // vocabulary the two agree, and with eos_token_id 49407 the largest id is the first eos.
  bool legacy_eos(const std::vector<int64_t>& ids, int64_t t) const {
    if (eos_token_id == 2) return true;
    for (size_t r = 0; r * t < ids.size(); ++r)
      if (*std::max_element(ids.begin() + r * t, ids.begin() + (r + 1) * t) != 49407) return false;
    return !ids.empty();
  }
  void validate() const {
    if (image_size % patch_size)
      throw Error("vision_config: image_size " + std::to_string(image_size) + " is not a multiple of patch_size " +
                  std::to_string(patch_size));
    vision.encoder().validate();
    text.encoder().validate();
  }
};

LayerNames names(const std::string& tower) {
  return {tower + ".encoder.layers.{i}.", "", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
          "self_attn.out_proj", "mlp.fc1", "mlp.fc2", "layer_norm1", "layer_norm2"};
}

// The weights of the image tower's embeddings and norms, and the text tower's, on the device.
class ClipArch final : public GraphArchOf<ClipConfig> {
 public:
  explicit ClipArch(const ClipConfig& c) : GraphArchOf(c, "clip") {}

  TensorList tensors() const override {
    const int64_t ev = c_.vision.hidden, et = c_.text.hidden, p = c_.patch_size, pd = c_.projection_dim;
    TensorList t = {{"vision_model.embeddings.class_embedding", {ev}},
                    {"vision_model.embeddings.patch_embedding.weight", {ev, c_.channels, p, p}},
                    {"vision_model.embeddings.position_embedding.weight", {c_.image_tokens(), ev}},
                    {"vision_model.pre_layrnorm.weight", {ev}},
                    {"vision_model.pre_layrnorm.bias", {ev}}};
    for (auto& x : layer_tensors(names("vision_model"), c_.vision.layers, ev, c_.vision.intermediate)) t.push_back(x);
    t.push_back({"vision_model.post_layernorm.weight", {ev}});
    t.push_back({"vision_model.post_layernorm.bias", {ev}});
    t.push_back({"text_model.embeddings.token_embedding.weight", {c_.vocab_size, et}});
    t.push_back({"text_model.embeddings.position_embedding.weight", {c_.max_positions, et}});
    for (auto& x : layer_tensors(names("text_model"), c_.text.layers, et, c_.text.intermediate)) t.push_back(x);
    t.push_back({"text_model.final_layer_norm.weight", {et}});
    t.push_back({"text_model.final_layer_norm.bias", {et}});
    t.push_back({"visual_projection.weight", {pd, ev}});
    t.push_back({"text_projection.weight", {pd, et}});
    t.push_back({"logit_scale", {}});
    return t;
  }

  std::string unsupported(const std::string& name) const override {
    if (name.find("position_ids") != std::string::npos)
      return "a buffer, not a weight (tools/vkfuse_export.py from-hf drops it)";
    if (name == "visual_projection.bias" || name == "text_projection.bias")
      return "CLIP's projections have no bias";
    return "";
  }

  Prepared prepare(const InputSet& in, bool /*need_weights: the arch has none*/) const override {
    only_inputs(in, {"pixel_values", "input_ids", "attention_mask"}, "clip");
    const bool image = in.contains("pixel_values"), text = in.contains("input_ids");
    if (in.contains("attention_mask") && !text) throw Error(in.where("attention_mask") + " is given without input_ids");
    if (!image && !text) throw Error(in.label() + ": arch clip needs pixel_values, input_ids or both");
    Prepared p;
    const int64_t pd = c_.projection_dim;
    int64_t bi = 0, bt = 0;
    if (image) {
      DeviceInput x = image_input(in, "pixel_values", c_.channels, c_.image_size);
      bi = x.shape[0];
      p.inputs["pixel_values"] = std::move(x);
      p.outputs["image_embeds"] = {{bi, pd}, {bi, pd}};
    }
    if (text) {
      TokenInput tk = token_input(in, "input_ids", "attention_mask", c_.vocab_size, c_.max_positions,
                                  "text_config.max_position_embeddings");
      bt = tk.b;
      const int64_t t = tk.t;
      std::vector<int32_t> ids(tk.ids.begin(), tk.ids.end()), eos(static_cast<size_t>(bt));
      std::vector<float> pad(static_cast<size_t>(bt * t));
      const bool legacy = c_.legacy_eos(tk.ids, t);
      for (int64_t r = 0; r < bt; ++r) {
        const int64_t* row = tk.ids.data() + r * t;
        int64_t at = -1;
        for (int64_t j = 0; j < t; ++j) {
          if (legacy ? (at < 0 || row[j] > row[at]) : (row[j] == c_.eos_token_id && at < 0)) at = j;
        }
        if (at < 0)
          throw Error(in.where("input_ids") + ": row " + std::to_string(r) + " holds no end-of-text token (id " +
                      std::to_string(c_.eos_token_id) + ", text_config.eos_token_id), where the text tower pools");
        eos[r] = static_cast<int32_t>(r * t + at);
        for (int64_t j = 0; j < t; ++j) pad[r * t + j] = tk.real[r * t + j] ? 0.f : -INFINITY;
      }
      p.inputs["ids"] = ints_of({bt * t}, std::move(ids));
      p.inputs["eos_rows"] = ints_of({bt}, std::move(eos));
      p.inputs["key_pad"] = floats_of({bt, t}, std::move(pad));
      p.outputs["text_embeds"] = {{bt, pd}, {bt, pd}};
    }
    if (image && text) {
      p.outputs["logits_per_image"] = {{bi, bt}, {bi, bt}};
      p.outputs["logits_per_text"] = {{bt, bi}, {bt, bi}};
    }
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    auto batch = [&](const char* name) { return p.inputs.count(name) ? p.inputs.at(name).shape[0] : 0; };
    const int64_t bi = batch("pixel_values"), bt = batch("key_pad");
    graph::ValueId image = graph::kNone, text = graph::kNone;
    if (bi) b.output("image_embeds", image = image_tower(b, graph_input(b, p, "pixel_values"), bi));
    if (bt)
      b.output("text_embeds", text = text_tower(b, graph_input(b, p, "ids"), graph_input(b, p, "key_pad"),
                                                  graph_input(b, p, "eos_rows"), bt));
    if (bi && bt) {
      // logits = exp(logit_scale) · image_embeds · text_embedsᵀ, and its transpose.
      graph::Attrs a = graph::attrs_of({{"transB", 1}});
      a.set_float("alpha", std::exp(b.value(b.weight("logit_scale")).f.at(0)));
      b.output("logits_per_image", b.op("Gemm", {image, text}, a));
      b.output("logits_per_text", b.op("Gemm", {text, image}, a));
    }
  }

 private:
  graph::ValueId projected(graph::GraphBuilder& b, graph::ValueId pooled, const char* projection) const {
    // The projection (no bias), then x / x.norm().
    return b.op("vkfuse.L2Normalize", {layers::linear(b, pooled, projection, false)});
  }

  graph::ValueId image_tower(graph::GraphBuilder& b, graph::ValueId image, int64_t batch) const {
    const graph::ValueId patches =
        layers::patch_embedding(b, image, "vision_model.embeddings.patch_embedding.weight", "");
    graph::ValueId x = layers::class_token_sequence(b, patches, "vision_model.embeddings.class_embedding",
                                                    "vision_model.embeddings.position_embedding.weight");
    x = layers::layer_norm(b, x, "vision_model.pre_layrnorm", c_.vision.eps);
    x = layers::encoder(b, x, batch, c_.vision.encoder(), names("vision_model"), {});
    const graph::ValueId pooled =
        layers::layer_norm(b, layers::first_rows(b, x, batch), "vision_model.post_layernorm", c_.vision.eps);
    return projected(b, pooled, "visual_projection");
  }

  graph::ValueId text_tower(graph::GraphBuilder& b, graph::ValueId ids, graph::ValueId key_pad, graph::ValueId eos,
                            int64_t batch) const {
    graph::ValueId x = layers::token_embedding(b, ids, batch, "text_model.embeddings.token_embedding.weight",
                                               "text_model.embeddings.position_embedding.weight");
    layers::Masks m;
    m.key_padding = key_pad;
    m.causal = true;
    x = layers::encoder(b, x, batch, c_.text.encoder(), names("text_model"), m);
    // Pooled at each row's end-of-text token (prepare found it).
    const graph::ValueId pooled =
        layers::layer_norm(b, layers::rows_at(b, x, eos), "text_model.final_layer_norm", c_.text.eps);
    return projected(b, pooled, "text_projection");
  }
};

// A tower's keys; HF's defaults for what is absent (CLIPVisionConfig, CLIPTextConfig).
Tower read_tower(ConfigReader& f, const Tower& d) {
  read_hf_common(f);
  f.ignore({"projection_dim", "dropout", "attention_dropout", "initializer_range", "initializer_factor"});
  Tower t;
  t.hidden = f.size("hidden_size", d.hidden);
  t.intermediate = f.size("intermediate_size", d.intermediate);
  t.heads = f.size("num_attention_heads", d.heads);
  t.layers = f.has("num_hidden_layers") ? f.layers("num_hidden_layers") : d.layers;
  t.act = hf_activation(f, {"quick_gelu", "gelu"}, "quick_gelu");
  t.eps = static_cast<float>(f.number("layer_norm_eps", 1e-5));
  return t;
}

}  // namespace

std::unique_ptr<Arch> parse_clip(ConfigReader& f) {
  ClipConfig c;
  read_hf_common(f);
  f.ignore({"logit_scale_init_value", "initializer_factor", "eos_token_id"});
  c.projection_dim = f.size("projection_dim", 512);
  nlohmann::json vision_json, text_json;  // each *_config with its legacy *_config_dict folded in
  ConfigReader v = f.child("vision_config", "vision_config_dict", vision_json);
  c.vision = read_tower(v, {768, 3072, 12, 12, ops::Activation::QuickGelu, 1e-5f});
  c.image_size = v.size("image_size", 224);
  c.patch_size = v.size("patch_size", 32);
  c.channels = v.size("num_channels", 3);
  v.ignore({"eos_token_id"});
  v.finish("clip (vision_config)");
  ConfigReader t = f.child("text_config", "text_config_dict", text_json);
  c.text = read_tower(t, {512, 2048, 8, 12, ops::Activation::QuickGelu, 1e-5f});
  c.vocab_size = t.size("vocab_size", 49408);
  c.max_positions = t.size("max_position_embeddings", 77);
  c.eos_token_id = t.integer("eos_token_id", 49407);
  t.finish("clip (text_config)");
  f.validate(c);
  return std::make_unique<ClipArch>(c);
}

}  // namespace vkfuse::detail
