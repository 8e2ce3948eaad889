// arch bert (docs/model-format.md, "Standard architectures"): Hugging Face's BertModel with
// absolute positions (BERT, MiniLM and most sentence-transformers text encoders). Word +
// position + token-type embeddings and a LayerNorm, post-norm layers, the optional pooler
// (tanh of a linear on the first token) and the sentence embedding: the mean over real
// tokens divided by its L2 norm.
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/hf_config.h"
#include "models/standard_layers.h"
#include "vkfuse/error.hpp"

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

class BertArch final : public GraphArchOf<BertConfig> {
 public:
  explicit BertArch(const BertConfig& c) : GraphArchOf(c, "bert") {}

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

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    const Shape& kp = p.inputs.at("key_pad").shape;
    const int64_t batch = kp[0], t = kp[1], e = c_.hidden;
    graph::ValueId x = layers::token_embedding(b, graph_input(b, p, "ids"), batch, "embeddings.word_embeddings.weight",
                                               "embeddings.position_embeddings.weight", graph_input(b, p, "type_ids"),
                                               "embeddings.token_type_embeddings.weight");
    x = layers::layer_norm(b, x, "embeddings.LayerNorm", c_.eps);
    layers::Masks m;
    m.key_padding = graph_input(b, p, "key_pad");
    x = layers::encoder(b, x, batch, c_.encoder(), kNames, m);
    const graph::ValueId last = layers::reshape(b, x, {batch, t, e});
    b.output("last_hidden_state", last);
    if (c_.pooler)
      b.output("pooler_output", layers::linear(b, layers::first_rows(b, x, batch), "pooler.dense", true, ops::Activation::Tanh));
    // The mean over the real tokens (prepare's weights [B, 1, T]), L2-normalized.
    const graph::ValueId mean = b.op("MatMul", {graph_input(b, p, "mean_weights"), last});
    graph::Attrs eps;
    eps.set_float("epsilon", kNormalizeEps);
    b.output("sentence_embedding", b.op("vkfuse.L2Normalize", {layers::reshape(b, mean, {batch, e})}, eps));
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
