// arch transformer_decoder (docs/model-format.md §2): torch.nn.TransformerDecoder of
// TransformerDecoderLayer(batch_first=True), the cross-attention fusion block.
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/transformer_keys.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class TransformerDecoderArch final : public GraphArchOf<TransformerConfig> {
 public:
  explicit TransformerDecoderArch(const TransformerConfig& c) : GraphArchOf(c, "transformer_decoder") {}

  TensorList tensors() const override { return c_.decoder_tensors(); }

  Prepared prepare(const InputSet& in, bool need_weights) const override {
    only_inputs(in, {"tgt", "memory", "tgt_key_padding_mask", "memory_key_padding_mask", "tgt_mask", "memory_mask"},
                "transformer_decoder");
    const int rank = rows_rank(in, "tgt", "[B, L, d_model] or [L, d_model]");
    Prepared p;
    DeviceInput t = rows_input(in, "tgt", rank, "tgt"), mem = rows_input(in, "memory", rank, "tgt");
    check_features(in, t, "tgt", c_.d_model, "d_model");
    check_features(in, mem, "memory", c_.d_model, "d_model");
    if (mem.shape[0] != t.shape[0]) throw Error(in.label() + ": inputs 'tgt' and 'memory' differ in batch size");
    const int64_t b = t.shape[0], l = t.shape[1], s = mem.shape[1];
    p.outputs["output"] = {in.at("tgt").shape, t.shape};
    p.inputs["tgt"] = std::move(t);
    p.inputs["memory"] = std::move(mem);
    auto pad = [&](int64_t n) { return rank == 3 ? Shape{b, n} : Shape{n}; };
    mask_input(p, in, "tgt_key_padding_mask", "tgt_pad", pad(l), false, {b, l});
    mask_input(p, in, "memory_key_padding_mask", "mem_pad", pad(s), false, {b, s});
    mask_input(p, in, "tgt_mask", "tgt_mask", {l, l}, true, {l, l});
    mask_input(p, in, "memory_mask", "mem_mask", {l, s}, true, {l, s});
    if (need_weights && c_.num_layers == 0)
      throw Error(in.label() + ": cross_attn_weights were asked for, but the decoder has no layers");
    if (need_weights) p.outputs["cross_attn_weights"] = {rank == 3 ? Shape{b, l, s} : Shape{l, s}, {b, l, s}};
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    auto in = [&](const char* name) { return p.inputs.count(name) ? graph_input(b, p, name) : graph::kNone; };
    const Shape& t = p.inputs.at("tgt").shape;
    const Shape& mem = p.inputs.at("memory").shape;
    layers::Masks self{in("tgt_pad"), in("tgt_mask"), false}, cross{in("mem_pad"), in("mem_mask"), false};
    graph::ValueId x = layers::reshape(b, graph_input(b, p, "tgt"), {t[0] * t[1], t[2]});
    const graph::ValueId memory = layers::reshape(b, graph_input(b, p, "memory"), {mem[0] * mem[1], mem[2]});
    graph::ValueId weights = graph::kNone;
    const bool want = p.outputs.count("cross_attn_weights") != 0;
    for (int64_t i = 0; i < c_.num_layers; ++i) {
      const bool last = i + 1 == c_.num_layers;
      x = layers::decoder_layer(b, x, memory, t[0], c_, "layers." + std::to_string(i) + ".", self, cross,
                                last && want ? &weights : nullptr);
    }
    if (c_.final_norm) x = layers::layer_norm(b, x, "norm", layers::kFinalNormEps);
    b.output("output", layers::reshape(b, x, t));
    if (weights != graph::kNone) b.output("cross_attn_weights", weights);
  }
};

}  // namespace

std::unique_ptr<Arch> parse_transformer_decoder(ConfigReader& f) {
  return std::make_unique<TransformerDecoderArch>(read_transformer(f));
}

}  // namespace vkfuse::detail
