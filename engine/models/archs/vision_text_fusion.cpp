// arch vision_text_fusion (docs/model-format.md §2): a vision and a text encoder joined by
// cross-attention fusion layers, a joint encoder, pooling and a task head.
#include "models/arch.h"
#include "models/transformer_keys.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class Program final : public ProgramOf<VisionTextFusion> {
 public:
  using ProgramOf::ProgramOf;
  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    VisionTextFusion::Inputs fi{in.at("image"),     in.at("ids"),       in.at("text_pad"),
                                in.at("joint_pad"), in.at("pool_text"), in.at("pool_image")};
    module_.record(s, fi, out.at("logits"), out.at("probs"), find(out, "cross_attn_weights"));
  }
};

class VisionTextFusionArch final : public ArchWith<FusionConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const DeviceInput& ids = p.inputs.at("ids");
    const DeviceInput& image = p.inputs.at("image");
    FusionBatch f;
    f.b = ids.shape[0];
    f.t = ids.shape[1];
    f.image.assign(image.floats(), image.floats() + shape_numel(image.shape));
    f.ids.assign(ids.ints(), ids.ints() + shape_numel(ids.shape));
    const float* pad = p.floats("text_pad");
    for (int64_t i = 0; i < f.b * f.t; ++i) f.real.push_back(pad[i] == 0.f);
    const bool weights = out.count("cross_attn_weights") != 0;
    FusionOutputs r = ref::vision_text_fusion(c_, w, f, weights);
    out.at("logits").data = std::move(r.logits);
    out.at("probs").data = std::move(r.probs);
    if (weights) out.at("cross_attn_weights").data = std::move(r.cross_weights);
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
