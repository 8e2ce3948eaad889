// arch multihead_attention (docs/model-format.md §2): torch.nn.MultiheadAttention with
// batch_first=True, its keys, inputs, and forward on the GPU and the CPU reference.
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class MultiheadAttentionArch final : public GraphArchOf<MultiheadAttentionConfig> {
 public:
  explicit MultiheadAttentionArch(const MultiheadAttentionConfig& c) : GraphArchOf(c, "multihead_attention") {}

  TensorList tensors() const override { return c_.tensors(); }
  std::string unsupported(const std::string& name) const override {
    return name == "bias_k" || name == "bias_v" ? "add_bias_kv is not supported" : "";
  }

  Prepared prepare(const InputSet& in, bool need_weights) const override {
    only_inputs(in, {"query", "key", "value", "key_padding_mask", "attn_mask"}, "multihead_attention");
    const int rank = rows_rank(in, "query", "[B, L, E] or [L, E]");
    Prepared p;
    DeviceInput q = rows_input(in, "query", rank, "query"), k = rows_input(in, "key", rank, "query"),
                v = rows_input(in, "value", rank, "query");
    const int64_t b = q.shape[0], l = q.shape[1], s = k.shape[1];
    check_features(in, q, "query", c_.embed_dim, "embed_dim");
    if (k.shape[0] != b || v.shape[0] != b)
      throw Error(in.label() + ": inputs 'query', 'key' and 'value' differ in batch size");
    check_features(in, k, "key", c_.k_dim(), "kdim");
    check_features(in, v, "value", c_.v_dim(), "vdim");
    if (v.shape[1] != s)
      throw Error(in.label() + ": key length mismatch: 'key' has " + std::to_string(s) + " rows, 'value' " +
                  std::to_string(v.shape[1]));
    p.inputs["query"] = std::move(q);
    p.inputs["key"] = std::move(k);
    p.inputs["value"] = std::move(v);
    mask_input(p, in, "key_padding_mask", "key_pad", rank == 3 ? Shape{b, s} : Shape{s}, false, {b, s});
    mask_input(p, in, "attn_mask", "attn_mask", {l, s}, true, {l, s});
    p.outputs["output"] = {rank == 3 ? Shape{b, l, c_.embed_dim} : Shape{l, c_.embed_dim}, {b, l, c_.embed_dim}};
    if (need_weights) p.outputs["attn_weights"] = {rank == 3 ? Shape{b, l, s} : Shape{l, s}, {b, l, s}};
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    auto rows = [&](const char* name) {
      const Shape& x = p.inputs.at(name).shape;
      return layers::reshape(b, graph_input(b, p, name), {x[0] * x[1], x[2]});
    };
    const Shape& q = p.inputs.at("query").shape;
    layers::Masks m;
    if (p.inputs.count("key_pad")) m.key_padding = graph_input(b, p, "key_pad");
    if (p.inputs.count("attn_mask")) m.attn_mask = graph_input(b, p, "attn_mask");
    layers::AttentionWeights w = layers::torch_attention(b, "", layers::Sources::Three, c_.bias, c_.packed());
    w.score = c_.score;
    const graph::ValueId query = rows("query"), key = rows("key"), value = rows("value");
    graph::ValueId weights = graph::kNone;
    const graph::ValueId y = layers::attention(b, query, key, q[0], c_.num_heads, w, m, graph::kNone,
                                               p.outputs.count("attn_weights") ? &weights : nullptr, value);
    b.output("output", layers::reshape(b, y, {q[0], q[1], c_.embed_dim}));
    if (weights != graph::kNone) b.output("attn_weights", weights);
  }
};

}  // namespace

std::unique_ptr<Arch> parse_multihead_attention(ConfigReader& f) {
  MultiheadAttentionConfig c;
  c.embed_dim = f.size("embed_dim");
  c.num_heads = f.size("num_heads");
  c.kdim = f.size_or_default("kdim");  // 0: embed_dim, as PyTorch's kdim=None
  c.vdim = f.size_or_default("vdim");
  c.bias = f.boolean("bias", true);
  const std::string score = f.choice("score", {"dot", "neg_euclidean", "neg_manhattan"}, "dot");
  c.score = score == "dot" ? ops::Score::Dot : score == "neg_euclidean" ? ops::Score::NegEuclidean : ops::Score::NegManhattan;
  f.validate(c);
  return std::make_unique<MultiheadAttentionArch>(c);
}

}  // namespace vkfuse::detail
