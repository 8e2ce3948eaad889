// arch transformer_encoder (docs/model-format.md §2): torch.nn.TransformerEncoder of
// TransformerEncoderLayer(batch_first=True), with an optional final LayerNorm.
#include "models/arch.h"
#include "models/graph_layers.h"
#include "models/graph_program.h"
#include "models/transformer_keys.h"

namespace vkfuse::detail {
namespace {

class TransformerEncoderArch final : public GraphArchOf<TransformerConfig> {
 public:
  explicit TransformerEncoderArch(const TransformerConfig& c) : GraphArchOf(c, "transformer_encoder") {}

  TensorList tensors() const override { return c_.encoder_tensors(); }

  Prepared prepare(const InputSet& in, bool /*need_weights: the encoder has none*/) const override {
    only_inputs(in, {"src", "src_key_padding_mask", "mask"}, "transformer_encoder");
    const int rank = rows_rank(in, "src", "[B, L, d_model] or [L, d_model]");
    Prepared p;
    DeviceInput x = rows_input(in, "src", rank, "src");
    check_features(in, x, "src", c_.d_model, "d_model");
    const int64_t b = x.shape[0], l = x.shape[1];
    p.outputs["output"] = {in.at("src").shape, x.shape};
    p.inputs["src"] = std::move(x);
    mask_input(p, in, "src_key_padding_mask", "key_pad", rank == 3 ? Shape{b, l} : Shape{l}, false, {b, l});
    mask_input(p, in, "mask", "attn_mask", {l, l}, true, {l, l});
    return p;
  }

  void build(graph::GraphBuilder& b, const Prepared& p) const override {
    const Shape& x = p.inputs.at("src").shape;
    layers::Masks m;
    if (p.inputs.count("key_pad")) m.key_padding = graph_input(b, p, "key_pad");
    if (p.inputs.count("attn_mask")) m.attn_mask = graph_input(b, p, "attn_mask");
    const graph::ValueId src = layers::reshape(b, graph_input(b, p, "src"), {x[0] * x[1], x[2]});
    const graph::ValueId y = layers::encoder(b, src, x[0], c_, layers::torch_names(), m, c_.final_norm ? "norm" : "");
    b.output("output", layers::reshape(b, y, x));
  }
};

}  // namespace

std::unique_ptr<Arch> parse_transformer_encoder(ConfigReader& f) {
  return std::make_unique<TransformerEncoderArch>(read_transformer(f));
}

}  // namespace vkfuse::detail
