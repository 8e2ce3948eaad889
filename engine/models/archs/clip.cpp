// arch clip (docs/model-format.md, "Standard architectures"): Hugging Face's CLIPModel. A
// ViT image tower (patches without bias, class embedding, pre_layrnorm, pre-norm layers,
// post_layernorm on the class token) and a causal text tower (token and position
// embeddings, final_layer_norm, pooled at the end-of-text token), each projected without
// bias and divided by its L2 norm; logits = exp(logit_scale) · cosine similarities.
#include <algorithm>
#include <cmath>

#include "models/arch.h"
#include "models/hf_config.h"
#include "models/standard_layers.h"
#include "runtime/workspace.h"
#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

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
class Program final : public ArchProgram {
 public:
  Program(Context& ctx, const ClipConfig& c, const WeightMap& w)
      : c_(c),
        vision_(ctx, c.vision.encoder(), torch_layers(w, names("vision_model"), c.vision.layers, c.vision.hidden)),
        text_(ctx, c.text.encoder(), torch_layers(w, names("text_model"), c.text.layers, c.text.hidden)),
        scale_(std::exp(weight(w, "logit_scale").at(0))) {
    const int64_t ev = c.vision.hidden, et = c.text.hidden, p = c.patch_size;
    auto up = [&](const char* name, Shape shape) { return ctx.tensor(shape, weight(w, name)); };
    auto mat = [&](const char* name, int64_t rows, int64_t cols) { return ctx.matrix(rows, cols, weight(w, name)); };
    patch_w_ = mat("vision_model.embeddings.patch_embedding.weight", ev, c.channels * p * p);
    cls_ = up("vision_model.embeddings.class_embedding", {ev});
    vpos_ = up("vision_model.embeddings.position_embedding.weight", {c.image_tokens(), ev});
    pre_w_ = up("vision_model.pre_layrnorm.weight", {ev});
    pre_b_ = up("vision_model.pre_layrnorm.bias", {ev});
    post_w_ = up("vision_model.post_layernorm.weight", {ev});
    post_b_ = up("vision_model.post_layernorm.bias", {ev});
    vproj_ = mat("visual_projection.weight", c.projection_dim, ev);
    tok_ = up("text_model.embeddings.token_embedding.weight", {c.vocab_size, et});
    tpos_ = up("text_model.embeddings.position_embedding.weight", {c.max_positions, et});
    fin_w_ = up("text_model.final_layer_norm.weight", {et});
    fin_b_ = up("text_model.final_layer_norm.bias", {et});
    tproj_ = mat("text_projection.weight", c.projection_dim, et);
  }

  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    Scratch scratch(s);
    const Tensor* image = find(in, "pixel_values");
    const Tensor* ids = find(in, "ids");
    Tensor image_embeds, text_embeds;
    // A tower with an empty batch has nothing to compute (its outputs have no rows).
    const bool run_image = image && image->dim(0) > 0, run_text = ids && in.at("key_pad").dim(0) > 0;
    if (run_image) image_embeds = image_tower(s, scratch, *image, find(out, "image_embeds"));
    if (run_text) text_embeds = text_tower(s, scratch, *ids, in.at("key_pad"), in.at("eos_rows"), find(out, "text_embeds"));
    if (run_image && run_text) {
      ops::MatmulOptions o;
      o.trans_b = true;
      o.alpha = scale_;
      ops::matmul(s, image_embeds, text_embeds, out.at("logits_per_image"), o);
      ops::matmul(s, text_embeds, image_embeds, out.at("logits_per_text"), o);
    }
  }

 private:
  ops::LayerNormOptions norm(const Tensor& w, const Tensor& b, float eps) const {
    ops::LayerNormOptions o;
    o.eps = eps;
    o.weight = &w;
    o.bias = &b;
    return o;
  }

  // The projected, normalized embedding of each image, into `out` (or a scratch tensor).
  Tensor image_tower(Sequence& s, Scratch& scratch, const Tensor& image, const Tensor* out) {
    const int64_t b = image.dim(0), n = c_.image_tokens(), e = c_.vision.hidden;
    Tensor x = scratch({b, n, e}), y = scratch({b, n, e});
    class_token_embedding(s, image, c_.patch_size, patch_w_, nullptr, cls_, vpos_, x);
    ops::layer_norm(s, x, y, norm(pre_w_, pre_b_, c_.vision.eps));
    vision_.record(s, y, x);
    Tensor pooled = scratch({b, e}), proj = scratch({b, c_.projection_dim});
    ops::layer_norm(s, x.view({b, e}, {n * e, 1}, 0), pooled, norm(post_w_, post_b_, c_.vision.eps));
    linear(s, pooled, vproj_, nullptr, proj);
    Tensor embeds = out ? *out : scratch({b, c_.projection_dim});
    ops::l2_normalize(s, proj, embeds);
    return embeds;
  }

  Tensor text_tower(Sequence& s, Scratch& scratch, const Tensor& ids, const Tensor& key_pad, const Tensor& eos_rows,
                    const Tensor* out) {
    const int64_t b = key_pad.dim(0), t = key_pad.dim(1), e = c_.text.hidden;
    Tensor x = scratch({b, t, e}), y = scratch({b, t, e});
    ops::gather_rows(s, tok_, ids, x.reshape({b * t, e}));
    ops::add(s, x, tpos_.view({t, e}, {e, 1}, 0), x);
    AttentionMasks masks;
    masks.key_padding = &key_pad;
    masks.causal = true;
    text_.record(s, x, y, masks);
    // final_layer_norm is per token: only the pooled rows are normalized.
    Tensor rows = scratch({b, e}), pooled = scratch({b, e}), proj = scratch({b, c_.projection_dim});
    ops::gather_rows(s, y.reshape({b * t, e}), eos_rows, rows);
    ops::layer_norm(s, rows, pooled, norm(fin_w_, fin_b_, c_.text.eps));
    linear(s, pooled, tproj_, nullptr, proj);
    Tensor embeds = out ? *out : scratch({b, c_.projection_dim});
    ops::l2_normalize(s, proj, embeds);
    return embeds;
  }

  ClipConfig c_;
  TransformerEncoder vision_, text_;
  float scale_;
  Tensor patch_w_, cls_, vpos_, pre_w_, pre_b_, post_w_, post_b_, vproj_, tok_, tpos_, fin_w_, fin_b_, tproj_;
};

class ClipArch final : public ArchWith<ClipConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const int64_t pd = c_.projection_dim;
    std::vector<float> img, txt;
    int64_t bi = 0, bt = 0;
    if (p.inputs.count("pixel_values") && p.inputs.at("pixel_values").shape[0] > 0) {
      const DeviceInput& image = p.inputs.at("pixel_values");
      bi = image.shape[0];
      img = image_cpu(w, image.floats(), bi);
      out.at("image_embeds").data = img;
    }
    if (p.inputs.count("ids") && p.inputs.at("key_pad").shape[0] > 0) {
      const DeviceInput& kp = p.inputs.at("key_pad");
      bt = kp.shape[0];
      txt = text_cpu(w, p.inputs.at("ids").ints(), kp.floats(), p.inputs.at("eos_rows").ints(), bt, kp.shape[1]);
      out.at("text_embeds").data = txt;
    }
    if (bi && bt && out.count("logits_per_image")) {
      const float scale = std::exp(weight(w, "logit_scale").at(0));
      ops::MatmulOptions o;
      o.trans_b = true;
      o.alpha = scale;
      ref::matmul(img.data(), txt.data(), out.at("logits_per_image").data.data(), 1, bi, bt, pd, o, nullptr, false);
      ref::matmul(txt.data(), img.data(), out.at("logits_per_text").data.data(), 1, bt, bi, pd, o, nullptr, false);
    }
  }

 private:
  std::vector<float> normalized(std::vector<float> x, int64_t rows) const {
    ref::l2_normalize(x.data(), x.data(), rows, c_.projection_dim, 0.f);
    return x;
  }

  std::vector<float> image_cpu(const WeightMap& w, const float* image, int64_t b) const {
    const int64_t n = c_.image_tokens(), e = c_.vision.hidden;
    std::vector<float> x = ref_class_token_embedding(
        image, b, c_.channels, c_.image_size, c_.patch_size, weight(w, "vision_model.embeddings.patch_embedding.weight"),
        nullptr, weight(w, "vision_model.embeddings.class_embedding"),
        weight(w, "vision_model.embeddings.position_embedding.weight"), e);
    std::vector<float> y(x.size());
    x = ref_layer_norm(x.data(), b * n, e, w, "vision_model.pre_layrnorm", c_.vision.eps);
    ref::transformer_encoder(c_.vision.encoder(), torch_layers(w, names("vision_model"), c_.vision.layers, e), "",
                             x.data(), b, n, nullptr, nullptr, y.data());
    const std::vector<float> first = first_rows(y, b, n, e);
    auto pooled = ref_layer_norm(first.data(), b, e, w, "vision_model.post_layernorm", c_.vision.eps);
    return normalized(ref_linear(pooled.data(), b, e, weight(w, "visual_projection.weight"), nullptr, c_.projection_dim), b);
  }

  std::vector<float> text_cpu(const WeightMap& w, const int32_t* ids, const float* key_pad, const int32_t* eos,
                              int64_t b, int64_t t) const {
    const int64_t e = c_.text.hidden;
    const auto& tok = weight(w, "text_model.embeddings.token_embedding.weight");
    const auto& pos = weight(w, "text_model.embeddings.position_embedding.weight");
    std::vector<float> x(static_cast<size_t>(b * t * e)), y(x.size());
    for (int64_t r = 0; r < b * t; ++r)
      for (int64_t j = 0; j < e; ++j) x[r * e + j] = tok[int64_t(ids[r]) * e + j] + pos[(r % t) * e + j];
    const std::vector<float> causal = ref::causal_mask(t);
    ref::transformer_encoder(c_.text.encoder(), torch_layers(w, names("text_model"), c_.text.layers, e), "", x.data(),
                             b, t, key_pad, causal.data(), y.data());
    std::vector<float> rows(static_cast<size_t>(b * e));
    ref::gather_rows(y.data(), b * t, e, eos, b, rows.data());
    auto pooled = ref_layer_norm(rows.data(), b, e, w, "text_model.final_layer_norm", c_.text.eps);
    return normalized(ref_linear(pooled.data(), b, e, weight(w, "text_projection.weight"), nullptr, c_.projection_dim), b);
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
