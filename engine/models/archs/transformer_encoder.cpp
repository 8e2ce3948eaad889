// arch transformer_encoder (docs/model-format.md §2): torch.nn.TransformerEncoder of
// TransformerEncoderLayer(batch_first=True), with an optional final LayerNorm.
#include "models/arch.h"
#include "models/transformer_keys.h"

namespace vkfuse::detail {
namespace {

class Program final : public ProgramOf<TransformerEncoder> {
 public:
  using ProgramOf::ProgramOf;
  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    AttentionMasks mk{find(in, "key_pad"), find(in, "attn_mask")};
    module_.record(s, in.at("src"), out.at("output"), mk);
  }
};

class TransformerEncoderArch final : public ArchWith<TransformerConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const auto& x = p.inputs.at("src");
    ref::transformer_encoder(c_, w, "", x.floats(), x.shape[0], x.shape[1], p.floats("key_pad"),
                             p.floats("attn_mask"), out.at("output").data.data());
  }

};

}  // namespace

std::unique_ptr<Arch> parse_transformer_encoder(ConfigReader& f) {
  return std::make_unique<TransformerEncoderArch>(read_transformer(f));
}

}  // namespace vkfuse::detail
