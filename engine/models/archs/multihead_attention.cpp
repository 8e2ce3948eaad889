// arch multihead_attention (docs/model-format.md §2): torch.nn.MultiheadAttention with
// batch_first=True, its keys, inputs, and forward on the GPU and the CPU reference.
#include "models/arch.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class Program final : public ProgramOf<MultiheadAttention> {
 public:
  using ProgramOf::ProgramOf;
  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    AttentionMasks mk{find(in, "key_pad"), find(in, "attn_mask")};
    module_.record(s, in.at("query"), in.at("key"), in.at("value"), out.at("output"), mk, find(out, "attn_weights"));
  }
};

class MultiheadAttentionArch final : public ArchWith<MultiheadAttentionConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const auto& q = p.inputs.at("query");
    const auto& k = p.inputs.at("key");
    ref::multihead_attention(c_, w, q.floats(), k.floats(), p.floats("value"), q.shape[0], q.shape[1], k.shape[1],
                             p.floats("key_pad"), p.floats("attn_mask"), out.at("output").data.data(),
                             out.count("attn_weights") ? out.at("attn_weights").data.data() : nullptr);
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
