// Model files: config parsing, tensor checks against the config, and the forward pass of
// each arch on named inputs (GPU or CPU reference).
#include "vkfuse/model.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "vkfuse/error.hpp"
#include "vkfuse/session.hpp"

namespace vkfuse {

namespace {

using nlohmann::json;

// Config fields with their types checked; `where` is "file: config".
struct Fields {
  const json& j;
  std::string where;
  int64_t integer(const char* key, int64_t fallback, bool required = false) const {
    if (!j.contains(key)) {
      if (required) throw Error(where + ": '" + key + "' is missing");
      return fallback;
    }
    const json& v = j[key];
    if (!v.is_number_integer()) throw Error(where + ": '" + key + "' must be an integer, got " + v.dump());
    return v.get<int64_t>();
  }
  bool boolean(const char* key, bool fallback) const {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_boolean()) throw Error(where + ": '" + key + "' must be true or false, got " + j[key].dump());
    return j[key].get<bool>();
  }
  std::string string(const char* key, const std::string& fallback) const {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_string()) throw Error(where + ": '" + key + "' must be a string, got " + j[key].dump());
    return j[key].get<std::string>();
  }
};

ops::Score parse_score(const std::string& s, const std::string& where) {
  if (s == "dot") return ops::Score::Dot;
  if (s == "neg_euclidean") return ops::Score::NegEuclidean;
  if (s == "neg_manhattan") return ops::Score::NegManhattan;
  throw Error(where + ": 'score' must be \"dot\", \"neg_euclidean\" or \"neg_manhattan\", got \"" + s + "\"");
}

// Every tensor of `file` is exactly the expected set, with the expected shapes.
void check_tensors(const SafetensorsFile& file, const std::vector<std::pair<std::string, Shape>>& expected,
                   const std::string& arch) {
  for (const auto& [name, shape] : expected) {
    if (!file.contains(name))
      throw Error(file.path() + ": tensor '" + name + "' is missing (arch " + arch + " needs it)");
    const auto& t = file.tensor(name);
    if (t.dtype != DType::F32 && t.dtype != DType::F16 && t.dtype != DType::BF16)
      throw Error(file.path() + ": tensor '" + name + "' is " + dtype_name(t.dtype) + "; weights must be F32, F16 or BF16");
    if (t.shape != shape)
      throw Error(file.path() + ": tensor '" + name + "' has shape " + shape_string(t.shape) + ", the config needs " +
                  shape_string(shape));
  }
  for (const auto& name : file.names()) {
    bool known = false;
    for (const auto& e : expected) known = known || e.first == name;
    if (known) continue;
    if (name == "bias_k" || name == "bias_v")
      throw Error(file.path() + ": tensor '" + name + "': add_bias_kv is not supported");
    throw Error(file.path() + ": tensor '" + name + "' is not expected for arch " + arch);
  }
}

// Every layer holds a dozen tensors or more: a config that counts more layers than the file
// has tensors is wrong, and is refused before any name list is built for it.
void check_layer_count(const SafetensorsFile& file, int64_t layers) {
  if (layers > static_cast<int64_t>(file.names().size()))
    throw Error(file.path() + ": config: " + std::to_string(layers) + " layers, but the file holds only " +
                std::to_string(file.names().size()) + " tensors");
}

// The per-layer keys every transformer arch shares (model-format.md §2).
TransformerConfig parse_transformer_layer(const json& j, const std::string& where) {
  Fields f{j, where};
  TransformerConfig t;
  t.d_model = f.integer("d_model", 0, true);
  t.nhead = f.integer("nhead", 0, true);
  t.dim_feedforward = f.integer("dim_feedforward", 0, true);
  const std::string act = f.string("activation", "relu");
  if (act != "relu" && act != "gelu")
    throw Error(where + ": 'activation' must be \"relu\" or \"gelu\", got \"" + act + "\"");
  t.activation = act == "gelu" ? ops::Activation::Gelu : ops::Activation::Relu;
  if (j.contains("layer_norm_eps") && !j["layer_norm_eps"].is_number())
    throw Error(where + ": 'layer_norm_eps' must be a number, got " + j["layer_norm_eps"].dump());
  t.layer_norm_eps = j.value("layer_norm_eps", 1e-5f);
  t.norm_first = f.boolean("norm_first", false);
  return t;
}

// transformer_encoder and transformer_decoder: the layer keys, num_layers and final_norm.
TransformerConfig parse_transformer(const json& j, const std::string& where) {
  Fields f{j, where};
  TransformerConfig t = parse_transformer_layer(j, where);
  t.num_layers = f.integer("num_layers", 0, true);
  t.final_norm = f.boolean("final_norm", false);
  return t;
}

}  // namespace

Model Model::load(const std::string& path) {
  SafetensorsFile file = SafetensorsFile::open(path);
  Model m;
  m.path_ = path;
  auto it = file.metadata().find("vkfuse.config");
  if (it == file.metadata().end())
    throw Error(path + ": no 'vkfuse.config' in the metadata; is this a vkfuse model file?");
  m.config_json_ = it->second;
  m.metadata_ = file.metadata();
  json j = json::parse(m.config_json_, nullptr, false);
  const std::string where = path + ": config";
  if (j.is_discarded() || !j.is_object()) throw Error(where + " is not a JSON object");
  Fields f{j, where};
  if (!j.contains("arch")) throw Error(where + ": 'arch' is missing");
  m.arch_ = f.string("arch", "");
  if (m.arch_ == "transformer_encoder" || m.arch_ == "transformer_decoder") {
    m.tf_ = parse_transformer(j, where);
    try {
      m.tf_.validate();
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    check_layer_count(file, m.tf_.num_layers);
    const auto expected = m.arch_ == "transformer_encoder" ? m.tf_.encoder_tensors() : m.tf_.decoder_tensors();
    check_tensors(file, expected, m.arch_);
    for (const auto& [name, shape] : expected) m.weights_[name] = file.to_f32(name);
    return m;
  }
  if (m.arch_ == "vision_text_fusion") {
    FusionConfig& fc = m.fusion_;
    fc.layer = parse_transformer_layer(j, where);
    fc.in_channels = f.integer("in_channels", 0, true);
    fc.image_size = f.integer("image_size", 0, true);
    fc.patch_size = f.integer("patch_size", 0, true);
    fc.use_cls_token = f.boolean("use_cls_token", false);
    fc.vision_layers = f.integer("vision_layers", 0, true);
    fc.vocab_size = f.integer("vocab_size", 0, true);
    fc.max_text_len = f.integer("max_text_len", 0, true);
    fc.text_layers = f.integer("text_layers", 0, true);
    fc.pad_token_id = f.integer("pad_token_id", 0);
    fc.fusion_layers = f.integer("fusion_layers", 0, true);
    fc.joint_layers = f.integer("joint_layers", 0, true);
    fc.num_outputs = f.integer("num_outputs", 0, true);
    auto choice = [&](const char* key, std::initializer_list<const char*> options) {
      std::string v = f.string(key, "");
      for (const char* o : options)
        if (v == o) return v;
      std::string list;
      for (const char* o : options) list += std::string(list.empty() ? "" : " or ") + "\"" + o + "\"";
      throw Error(where + ": '" + key + "' must be " + list + ", got \"" + v + "\"");
    };
    fc.bidirectional = choice("fusion_mode", {"bidirectional", "text_to_image"}) == "bidirectional";
    fc.pool_cls = choice("pooling", {"cls", "mean"}) == "cls";
    const std::string act = choice("output_activation", {"sigmoid", "softmax", "none"});
    fc.output_activation = act == "sigmoid"   ? FusionConfig::Output::Sigmoid
                           : act == "softmax" ? FusionConfig::Output::Softmax
                                              : FusionConfig::Output::None;
    try {
      fc.validate();
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
    check_layer_count(file, fc.vision_layers + fc.text_layers + 2 * fc.fusion_layers + fc.joint_layers);
    check_tensors(file, fc.tensors(), m.arch_);
    for (const auto& [name, shape] : fc.tensors()) m.weights_[name] = file.to_f32(name);
    return m;
  }
  if (m.arch_ != "multihead_attention")
    throw Error(where + ": arch '" + m.arch_ +
                "' is not supported (supported: multihead_attention, transformer_encoder, transformer_decoder, "
                "vision_text_fusion)");
  MultiheadAttentionConfig& c = m.mha_;
  c.embed_dim = f.integer("embed_dim", 0, true);
  c.num_heads = f.integer("num_heads", 0, true);
  c.kdim = f.integer("kdim", 0);
  c.vdim = f.integer("vdim", 0);
  c.bias = f.boolean("bias", true);
  c.score = parse_score(f.string("score", "dot"), where);
  try {
    c.validate();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  check_tensors(file, c.tensors(), m.arch_);
  for (const auto& [name, shape] : c.tensors()) m.weights_[name] = file.to_f32(name);
  return m;
}

HostTensors Model::run(const SafetensorsFile& inputs, bool need_weights, Context* gpu) const {
  if (!gpu) return detail::run_cpu(*this, detail::prepare(*this, inputs, need_weights));
  Session session(*gpu, *this, need_weights);
  return session.run(inputs);
}

}  // namespace vkfuse
