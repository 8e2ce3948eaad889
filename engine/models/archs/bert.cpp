// arch bert (docs/model-format.md, "Standard architectures"): Hugging Face's BertModel with
// absolute positions (BERT, MiniLM and most sentence-transformers text encoders). Word +
// position + token-type embeddings and a LayerNorm, post-norm layers, the optional pooler
// (tanh of a linear on the first token) and the sentence embedding: the mean over real
// tokens divided by its L2 norm.
#include "models/arch.h"
#include "models/hf_config.h"
#include "models/standard_layers.h"
#include "runtime/workspace.h"
#include "vkfuse/error.hpp"
#include "vkfuse/reference.hpp"

namespace vkfuse::detail {
namespace {

// sentence-transformers' Normalize is F.normalize(p=2, eps=1e-12).
constexpr float kNormalizeEps = 1e-12f;

struct BertConfig {
  int64_t vocab_size = 30522, hidden = 768, layers = 12, heads = 12, intermediate = 3072;
  int64_t max_positions = 512, type_vocab_size = 2;
  ops::Activation act = ops::Activation::Gelu;
  float eps = 1e-12f;
  bool pooler = false;  // the file holds pooler.dense.*

  TransformerConfig encoder() const { return encoder_config(hidden, heads, intermediate, layers, act, eps, false); }
  void validate() const { encoder().validate(); }
};

const LayerNames kNames{"encoder.layer.{i}.",     "",
                        "attention.self.query",   "attention.self.key",
                        "attention.self.value",   "attention.output.dense",
                        "intermediate.dense",     "output.dense",
                        "attention.output.LayerNorm", "output.LayerNorm"};

class Program final : public ArchProgram {
 public:
  Program(Context& ctx, const BertConfig& c, const WeightMap& w)
      : c_(c), encoder_(ctx, c.encoder(), torch_layers(w, kNames, c.layers, c.hidden)) {
    const int64_t e = c.hidden;
    auto up = [&](const char* name, Shape shape) { return ctx.tensor(shape, weight(w, name)); };
    word_ = up("embeddings.word_embeddings.weight", {c.vocab_size, e});
    pos_ = up("embeddings.position_embeddings.weight", {c.max_positions, e});
    type_ = up("embeddings.token_type_embeddings.weight", {c.type_vocab_size, e});
    ln_w_ = up("embeddings.LayerNorm.weight", {e});
    ln_b_ = up("embeddings.LayerNorm.bias", {e});
    if (c.pooler) {
      pool_w_ = ctx.matrix(e, e, weight(w, "pooler.dense.weight"));
      pool_b_ = up("pooler.dense.bias", {e});
    }
  }

  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    const Tensor& key_pad = in.at("key_pad");
    const int64_t b = key_pad.dim(0), t = key_pad.dim(1), e = c_.hidden;
    Scratch scratch(s);
    Tensor x = scratch({b, t, e}), tt = scratch({b, t, e}), x2 = scratch({b, t, e});
    ops::gather_rows(s, word_, in.at("ids"), x.reshape({b * t, e}));
    ops::gather_rows(s, type_, in.at("type_ids"), tt.reshape({b * t, e}));
    ops::add(s, x, tt, x2);
    ops::add(s, x2, pos_.view({t, e}, {e, 1}, 0), x2);
    ops::LayerNormOptions o;
    o.eps = c_.eps;
    o.weight = &ln_w_;
    o.bias = &ln_b_;
    ops::layer_norm(s, x2, x, o);
    const Tensor& last = out.at("last_hidden_state");
    AttentionMasks masks;
    masks.key_padding = &key_pad;
    encoder_.record(s, x, last, masks);
    if (const Tensor* pooled = find(out, "pooler_output"))
      linear(s, last.view({b, e}, {t * e, 1}, 0), pool_w_, &pool_b_, *pooled, ops::Activation::Tanh);
    // Mean over the real tokens: [B, 1, T] weights (1/count at real tokens) times [B, T, H].
    Tensor mean = scratch({b, 1, e});
    ops::matmul(s, in.at("mean_weights"), last, mean);
    ops::l2_normalize(s, mean.reshape({b, e}), out.at("sentence_embedding"), kNormalizeEps);
  }

 private:
  BertConfig c_;
  TransformerEncoder encoder_;
  Tensor word_, pos_, type_, ln_w_, ln_b_, pool_w_, pool_b_;
};

class BertArch final : public ArchWith<BertConfig, Program> {
 public:
  using ArchWith::ArchWith;

  TensorList tensors() const override {
    const int64_t e = c_.hidden;
    TensorList t = {{"embeddings.word_embeddings.weight", {c_.vocab_size, e}},
                    {"embeddings.position_embeddings.weight", {c_.max_positions, e}},
                    {"embeddings.token_type_embeddings.weight", {c_.type_vocab_size, e}},
                    {"embeddings.LayerNorm.weight", {e}},
                    {"embeddings.LayerNorm.bias", {e}}};
    for (auto& x : layer_tensors(kNames, c_.layers, e, c_.intermediate)) t.push_back(x);
    if (c_.pooler)
      for (auto& x : optional_tensors()) t.push_back(x);
    return t;
  }
  TensorList optional_tensors() const override {
    return {{"pooler.dense.weight", {c_.hidden, c_.hidden}}, {"pooler.dense.bias", {c_.hidden}}};
  }
  void found_optional(const std::set<std::string>& present) override { c_.pooler = !present.empty(); }

  std::string unsupported(const std::string& name) const override {
    if (name.find("position_ids") != std::string::npos || name == "embeddings.token_type_ids")
      return "a buffer, not a weight (tools/vkfuse_export.py from-hf drops it)";
    if (name.rfind("cls.", 0) == 0) return "a pretraining head (cls.*), which BertModel does not have";
    if (name.rfind("bert.", 0) == 0) return "names start with 'bert.' (tools/vkfuse_export.py from-hf strips it)";
    return "";
  }

  Prepared prepare(const InputSet& in, bool /*need_weights: the arch has none*/) const override {
    only_inputs(in, {"input_ids", "attention_mask", "token_type_ids"}, "bert");
    TokenInput tk = token_input(in, "input_ids", "attention_mask", c_.vocab_size, c_.max_positions,
                                "max_position_embeddings");
    const int64_t b = tk.b, t = tk.t, e = c_.hidden;
    std::vector<int32_t> types(static_cast<size_t>(b * t), 0);
    if (in.contains("token_type_ids")) {
      TokenInput ty = token_input(in, "token_type_ids", "", c_.type_vocab_size, c_.max_positions,
                                  "max_position_embeddings");
      if (ty.b != b || ty.t != t)
        throw Error(in.where("token_type_ids") + " has shape " + shape_string({ty.b, ty.t}) + ", expected " +
                    shape_string({b, t}) + " like input_ids");
      types.assign(ty.ids.begin(), ty.ids.end());
    }
    std::vector<float> pad(static_cast<size_t>(b * t)), mean(static_cast<size_t>(b * t), 0.f);
    for (int64_t r = 0; r < b; ++r) {
      int64_t real = 0;
      for (int64_t j = 0; j < t; ++j) real += tk.real[r * t + j];
      for (int64_t j = 0; j < t; ++j) {
        pad[r * t + j] = tk.real[r * t + j] ? 0.f : -INFINITY;
        if (tk.real[r * t + j]) mean[r * t + j] = 1.f / static_cast<float>(real);
      }
    }
    Prepared p;
    p.inputs["ids"] = ints_of({b * t}, std::vector<int32_t>(tk.ids.begin(), tk.ids.end()));
    p.inputs["type_ids"] = ints_of({b * t}, std::move(types));
    p.inputs["key_pad"] = floats_of({b, t}, std::move(pad));
    p.inputs["mean_weights"] = floats_of({b, 1, t}, std::move(mean));
    p.outputs["last_hidden_state"] = {{b, t, e}, {b, t, e}};
    if (c_.pooler) p.outputs["pooler_output"] = {{b, e}, {b, e}};
    p.outputs["sentence_embedding"] = {{b, e}, {b, e}};
    return p;
  }

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const DeviceInput& kp = p.inputs.at("key_pad");
    const int64_t b = kp.shape[0], t = kp.shape[1], e = c_.hidden;
    const int32_t* ids = p.inputs.at("ids").ints();
    const int32_t* types = p.inputs.at("type_ids").ints();
    const auto& word = weight(w, "embeddings.word_embeddings.weight");
    const auto& pos = weight(w, "embeddings.position_embeddings.weight");
    const auto& type = weight(w, "embeddings.token_type_embeddings.weight");
    std::vector<float> x(static_cast<size_t>(b * t * e));
    for (int64_t r = 0; r < b * t; ++r)
      for (int64_t j = 0; j < e; ++j)
        x[r * e + j] = (word[int64_t(ids[r]) * e + j] + type[int64_t(types[r]) * e + j]) + pos[(r % t) * e + j];
    x = ref_layer_norm(x.data(), b * t, e, w, "embeddings.LayerNorm", c_.eps);
    std::vector<float>& last = out.at("last_hidden_state").data;
    ref::transformer_encoder(c_.encoder(), torch_layers(w, kNames, c_.layers, e), "", x.data(), b, t, kp.floats(),
                             nullptr, last.data());
    if (out.count("pooler_output")) {
      std::vector<float> first(static_cast<size_t>(b * e));
      for (int64_t r = 0; r < b; ++r) std::copy_n(last.begin() + r * t * e, e, first.begin() + r * e);
      out.at("pooler_output").data = ref_linear(first.data(), b, e, weight(w, "pooler.dense.weight"),
                                                &weight(w, "pooler.dense.bias"), e, ops::Activation::Tanh);
    }
    std::vector<float> mean(static_cast<size_t>(b * e));
    ref::matmul(p.floats("mean_weights"), last.data(), mean.data(), b, 1, e, t, {}, nullptr, false);
    ref::l2_normalize(mean.data(), out.at("sentence_embedding").data.data(), b, e, kNormalizeEps);
  }
};

}  // namespace

std::unique_ptr<Arch> parse_bert(ConfigReader& f) {
  BertConfig c;
  read_hf_common(f);
  f.ignore({"eos_token_id", "classifier_dropout"});
  c.vocab_size = f.size("vocab_size", 30522);
  c.hidden = f.size("hidden_size", 768);
  c.layers = f.has("num_hidden_layers") ? f.layers("num_hidden_layers") : 12;
  c.heads = f.size("num_attention_heads", 12);
  c.intermediate = f.size("intermediate_size", 3072);
  c.act = hf_activation(f, {"gelu", "relu", "gelu_new"}, "gelu");
  c.max_positions = f.size("max_position_embeddings", 512);
  c.type_vocab_size = f.size("type_vocab_size", 2);
  c.eps = static_cast<float>(f.number("layer_norm_eps", 1e-12));
  f.require_value("position_embedding_type", "absolute", "relative position embeddings");
  f.validate(c);
  return std::make_unique<BertArch>(c);
}

}  // namespace vkfuse::detail
