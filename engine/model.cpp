// Model files: config parsing, tensor checks against the config, and the forward pass of
// each arch on named inputs (GPU or CPU reference).
#include "vkfuse/model.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "vkfuse/error.hpp"
#include "vkfuse/sequence.hpp"

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

// An input as [B, rows, features]: rank 3 as is, rank 2 as B = 1.
struct Input {
  int64_t b = 0, rows = 0, features = 0;
  std::vector<float> data;
};

Input float_input(const SafetensorsFile& in, const std::string& name, int rank) {
  if (!in.contains(name)) throw Error(in.path() + ": input '" + name + "' is missing");
  const auto& t = in.tensor(name);
  if (static_cast<int>(t.shape.size()) != rank)
    throw Error(in.path() + ": input '" + name + "' has shape " + shape_string(t.shape) + "; expected rank " +
                std::to_string(rank) + " like 'query'");
  Input x;
  x.b = rank == 3 ? t.shape[0] : 1;
  x.rows = t.shape[rank - 2];
  x.features = t.shape[rank - 1];
  x.data = in.to_f32(name);
  return x;
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

// An optional mask input as an additive F32 mask (empty when absent): BOOL/U8, nonzero =
// masked, or (where `additive` allows) F32 added to the scores.
std::vector<float> mask_input(const SafetensorsFile& in, const std::string& name, const Shape& want, bool additive) {
  if (!in.contains(name)) return {};
  const auto& t = in.tensor(name);
  const bool flags = t.dtype == DType::Bool || t.dtype == DType::U8;
  if (!flags && !(additive && t.dtype == DType::F32))
    throw Error(in.path() + ": input '" + name + "' is " + dtype_name(t.dtype) + "; it must be BOOL or U8" +
                (additive ? " (masked where nonzero) or F32 (added to the scores)" : " (masked where nonzero)"));
  if (t.shape != want)
    throw Error(in.path() + ": input '" + name + "' has shape " + shape_string(t.shape) + ", expected " +
                shape_string(want));
  return flags ? additive_mask(in.to_mask(name)) : in.to_f32(name);
}

// Each input name is one the arch knows.
void only_inputs(const SafetensorsFile& in, const std::vector<std::string>& known, const std::string& arch) {
  for (const auto& name : in.names())
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(in.path() + ": input '" + name + "' is not an input of arch " + arch + " (" + list + ")");
    }
}

HostTensors run_encoder(const Model& m, const SafetensorsFile& in, Context* gpu) {
  const auto& c = m.transformer_config();
  only_inputs(in, {"src", "src_key_padding_mask", "mask"}, "transformer_encoder");
  if (!in.contains("src")) throw Error(in.path() + ": input 'src' is missing");
  const int rank = static_cast<int>(in.tensor("src").shape.size());
  if (rank != 2 && rank != 3)
    throw Error(in.path() + ": input 'src' has shape " + shape_string(in.tensor("src").shape) +
                "; expected [B, L, d_model] or [L, d_model]");
  Input x = float_input(in, "src", rank);
  if (x.features != c.d_model)
    throw Error(in.path() + ": input 'src' has " + std::to_string(x.features) + " features, the model's d_model is " +
                std::to_string(c.d_model));
  const int64_t b = x.b, l = x.rows;
  std::vector<float> key_pad = mask_input(in, "src_key_padding_mask", rank == 3 ? Shape{b, l} : Shape{l}, false);
  std::vector<float> mask = mask_input(in, "mask", {l, l}, true);
  HostTensors out;
  HostTensor& o = out["output"];
  o.shape = in.tensor("src").shape;
  o.data.resize(x.data.size());
  if (!gpu) {
    ref::transformer_encoder(c, m.weights(), "", x.data.data(), b, l, key_pad.empty() ? nullptr : key_pad.data(),
                             mask.empty() ? nullptr : mask.data(), o.data.data());
    return out;
  }
  Context& ctx = *gpu;
  TransformerEncoder enc(ctx, c, m.weights());
  Tensor src = ctx.tensor({b, l, c.d_model}, x.data), dst = ctx.tensor({b, l, c.d_model}), tkp, tm;
  AttentionMasks masks;
  if (!key_pad.empty()) {
    tkp = ctx.tensor({b, l}, key_pad);
    masks.key_padding = &tkp;
  }
  if (!mask.empty()) {
    tm = ctx.tensor({l, l}, mask);
    masks.attn_mask = &tm;
  }
  Sequence seq(ctx);
  enc.record(seq, src, dst, masks);
  seq.run();
  o.data = dst.read();
  return out;
}

HostTensors run_decoder(const Model& m, const SafetensorsFile& in, bool need_weights, Context* gpu) {
  const auto& c = m.transformer_config();
  only_inputs(in, {"tgt", "memory", "tgt_key_padding_mask", "memory_key_padding_mask", "tgt_mask", "memory_mask"},
              "transformer_decoder");
  if (!in.contains("tgt")) throw Error(in.path() + ": input 'tgt' is missing");
  const int rank = static_cast<int>(in.tensor("tgt").shape.size());
  if (rank != 2 && rank != 3)
    throw Error(in.path() + ": input 'tgt' has shape " + shape_string(in.tensor("tgt").shape) +
                "; expected [B, L, d_model] or [L, d_model]");
  Input t = float_input(in, "tgt", rank), mem = float_input(in, "memory", rank);
  for (const auto* x : {&t, &mem})
    if (x->features != c.d_model)
      throw Error(in.path() + ": input '" + (x == &t ? "tgt" : "memory") + "' has " + std::to_string(x->features) +
                  " features, the model's d_model is " + std::to_string(c.d_model));
  if (mem.b != t.b) throw Error(in.path() + ": inputs 'tgt' and 'memory' differ in batch size");
  const int64_t b = t.b, l = t.rows, s = mem.rows;
  auto pad_shape = [&](int64_t n) { return rank == 3 ? Shape{b, n} : Shape{n}; };
  auto tkp = mask_input(in, "tgt_key_padding_mask", pad_shape(l), false);
  auto mkp = mask_input(in, "memory_key_padding_mask", pad_shape(s), false);
  auto tm = mask_input(in, "tgt_mask", {l, l}, true), mm = mask_input(in, "memory_mask", {l, s}, true);
  auto ptr = [](const std::vector<float>& v) { return v.empty() ? nullptr : v.data(); };
  HostTensors out;
  HostTensor& o = out["output"];
  o.shape = in.tensor("tgt").shape;
  o.data.resize(t.data.size());
  HostTensor* w = nullptr;
  if (need_weights) {
    w = &out["cross_attn_weights"];
    w->shape = rank == 3 ? Shape{b, l, s} : Shape{l, s};
    w->data.resize(static_cast<size_t>(b * l * s));
  }
  if (!gpu) {
    ref::transformer_decoder(c, m.weights(), "", t.data.data(), mem.data.data(), b, l, s, ptr(tkp), ptr(tm), ptr(mkp),
                             ptr(mm), o.data.data(), w ? w->data.data() : nullptr);
    return out;
  }
  Context& ctx = *gpu;
  TransformerDecoder dec(ctx, c, m.weights());
  Tensor tt = ctx.tensor({b, l, c.d_model}, t.data), tmem = ctx.tensor({b, s, c.d_model}, mem.data);
  Tensor dst = ctx.tensor({b, l, c.d_model}), tw = ctx.tensor({b, l, s});
  std::vector<Tensor> keep;  // masks live until the run is done
  auto upload = [&](const std::vector<float>& v, Shape shape) -> const Tensor* {
    if (v.empty()) return nullptr;
    keep.push_back(ctx.tensor(shape, v));
    return &keep.back();
  };
  keep.reserve(4);
  DecoderMasks masks;
  masks.self.key_padding = upload(tkp, {b, l});
  masks.self.attn_mask = upload(tm, {l, l});
  masks.cross.key_padding = upload(mkp, {b, s});
  masks.cross.attn_mask = upload(mm, {l, s});
  Sequence seq(ctx);
  dec.record(seq, tt, tmem, dst, masks, w ? &tw : nullptr);
  seq.run();
  o.data = dst.read();
  if (w) w->data = tw.read();
  return out;
}

HostTensors run_fusion(const Model& m, const SafetensorsFile& in, bool need_weights, Context* gpu) {
  const auto& c = m.fusion_config();
  const std::string& p = in.path();
  only_inputs(in, {"image", "input_ids", "attention_mask"}, "vision_text_fusion");
  for (const char* name : {"image", "input_ids"})
    if (!in.contains(name)) throw Error(p + ": input '" + name + "' is missing");
  const auto& img = in.tensor("image");
  if (img.shape.size() != 4 || img.shape[1] != c.in_channels || img.shape[2] != c.image_size ||
      img.shape[3] != c.image_size)
    throw Error(p + ": input 'image' has shape " + shape_string(img.shape) + ", expected [B, " +
                std::to_string(c.in_channels) + ", " + std::to_string(c.image_size) + ", " + std::to_string(c.image_size) + "]");
  const int64_t b = img.shape[0];
  const auto& ids = in.tensor("input_ids");
  if (ids.shape.size() != 2 || ids.shape[0] != b)
    throw Error(p + ": input 'input_ids' has shape " + shape_string(ids.shape) + ", expected [" + std::to_string(b) + ", T]");
  const int64_t t = ids.shape[1];
  if (t < 1 || t > c.max_text_len)
    throw Error(p + ": input 'input_ids' has " + std::to_string(t) + " tokens; the model takes 1 to " +
                std::to_string(c.max_text_len));
  std::vector<uint8_t> am;
  if (in.contains("attention_mask")) {
    const auto& a = in.tensor("attention_mask");
    if (a.shape != ids.shape)
      throw Error(p + ": input 'attention_mask' has shape " + shape_string(a.shape) + ", expected " + shape_string(ids.shape));
    if (a.dtype == DType::I64 || a.dtype == DType::I32) {
      for (int64_t v : in.to_i64("attention_mask")) am.push_back(v != 0);
    } else {
      am = in.to_mask("attention_mask");
    }
  }
  FusionBatch batch;
  try {
    batch = FusionBatch::make(c, in.to_f32("image"), b, in.to_i64("input_ids"), t, am.empty() ? nullptr : &am);
  } catch (const Error& e) {
    throw Error(p + ": " + e.what());
  }
  FusionOutputs r = gpu ? VisionTextFusion(*gpu, c, m.weights()).run(batch, need_weights)
                        : ref::vision_text_fusion(c, m.weights(), batch, need_weights);
  HostTensors out;
  out["logits"] = {{b, c.num_outputs}, r.logits};
  out["probs"] = {{b, c.num_outputs}, r.probs};
  if (need_weights) out["cross_attn_weights"] = {{b, t, c.image_tokens()}, r.cross_weights};
  return out;
}

HostTensors run_attention(const Model& m, const SafetensorsFile& in, bool need_weights, Context* gpu) {
  const auto& c = m.attention_config();
  const std::string& p = in.path();
  only_inputs(in, {"query", "key", "value", "key_padding_mask", "attn_mask"}, "multihead_attention");
  if (!in.contains("query")) throw Error(p + ": input 'query' is missing");
  const int rank = static_cast<int>(in.tensor("query").shape.size());
  if (rank != 2 && rank != 3)
    throw Error(p + ": input 'query' has shape " + shape_string(in.tensor("query").shape) + "; expected [B, L, E] or [L, E]");
  Input q = float_input(in, "query", rank), k = float_input(in, "key", rank), v = float_input(in, "value", rank);
  const int64_t b = q.b, l = q.rows, s = k.rows;
  auto fail = [&](const std::string& what) { throw Error(p + ": " + what); };
  if (q.features != c.embed_dim)
    fail("input 'query' has " + std::to_string(q.features) + " features, the model's embed_dim is " +
         std::to_string(c.embed_dim));
  if (k.b != b || v.b != b) fail("inputs 'query', 'key' and 'value' differ in batch size");
  if (k.features != c.k_dim())
    fail("input 'key' has " + std::to_string(k.features) + " features, the model's kdim is " + std::to_string(c.k_dim()));
  if (v.features != c.v_dim())
    fail("input 'value' has " + std::to_string(v.features) + " features, the model's vdim is " + std::to_string(c.v_dim()));
  if (v.rows != s)
    fail("key length mismatch: 'key' has " + std::to_string(s) + " rows, 'value' " + std::to_string(v.rows));

  std::vector<float> key_pad = mask_input(in, "key_padding_mask", rank == 3 ? Shape{b, s} : Shape{s}, false);
  std::vector<float> attn_mask = mask_input(in, "attn_mask", {l, s}, true);

  HostTensors out;
  auto shape3 = [&](int64_t rows, int64_t cols) { return rank == 3 ? Shape{b, rows, cols} : Shape{rows, cols}; };
  HostTensor& o = out["output"];
  o.shape = shape3(l, c.embed_dim);
  o.data.resize(static_cast<size_t>(b * l * c.embed_dim));
  HostTensor* w = nullptr;
  if (need_weights) {
    w = &out["attn_weights"];
    w->shape = shape3(l, s);
    w->data.resize(static_cast<size_t>(b * l * s));
  }
  if (!gpu) {
    ref::multihead_attention(c, m.weights(), q.data.data(), k.data.data(), v.data.data(), b, l, s,
                             key_pad.empty() ? nullptr : key_pad.data(), attn_mask.empty() ? nullptr : attn_mask.data(),
                             o.data.data(), w ? w->data.data() : nullptr);
    return out;
  }
  Context& ctx = *gpu;
  MultiheadAttention mha(ctx, c, m.weights());
  Tensor tq = ctx.tensor({b, l, c.embed_dim}, q.data);
  Tensor tk = ctx.tensor({b, s, c.k_dim()}, k.data), tv = ctx.tensor({b, s, c.v_dim()}, v.data);
  Tensor to = ctx.tensor({b, l, c.embed_dim}), tw = ctx.tensor({b, l, s});
  Tensor tkp, tam;
  AttentionMasks masks;
  if (!key_pad.empty()) {
    tkp = ctx.tensor({b, s}, key_pad);
    masks.key_padding = &tkp;
  }
  if (!attn_mask.empty()) {
    tam = ctx.tensor({l, s}, attn_mask);
    masks.attn_mask = &tam;
  }
  Sequence seq(ctx);
  mha.record(seq, tq, tk, tv, to, masks, w ? &tw : nullptr);
  seq.run();
  o.data = to.read();
  if (w) w->data = tw.read();
  return out;
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
  if (arch_ == "transformer_encoder") return run_encoder(*this, inputs, gpu);
  if (arch_ == "transformer_decoder") return run_decoder(*this, inputs, need_weights, gpu);
  if (arch_ == "vision_text_fusion") return run_fusion(*this, inputs, need_weights, gpu);
  return run_attention(*this, inputs, need_weights, gpu);
}

}  // namespace vkfuse
