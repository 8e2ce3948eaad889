// arch transformer_decoder (docs/model-format.md §2): torch.nn.TransformerDecoder of
// TransformerDecoderLayer(batch_first=True), the cross-attention fusion block.
#include "models/arch.h"
#include "models/transformer_keys.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {
namespace {

class Program final : public ProgramOf<TransformerDecoder> {
 public:
  using ProgramOf::ProgramOf;
  void record(Sequence& s, const DeviceTensors& in, const DeviceTensors& out) override {
    DecoderMasks mk;
    mk.self = {find(in, "tgt_pad"), find(in, "tgt_mask")};
    mk.cross = {find(in, "mem_pad"), find(in, "mem_mask")};
    module_.record(s, in.at("tgt"), in.at("memory"), out.at("output"), mk, find(out, "cross_attn_weights"));
  }
};

class TransformerDecoderArch final : public ArchWith<TransformerConfig, Program> {
 public:
  using ArchWith::ArchWith;

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

  void run_cpu(const WeightMap& w, const Prepared& p, HostTensors& out) const override {
    const auto& t = p.inputs.at("tgt");
    const auto& mem = p.inputs.at("memory");
    ref::transformer_decoder(c_, w, "", t.floats(), mem.floats(), t.shape[0], t.shape[1], mem.shape[1],
                             p.floats("tgt_pad"), p.floats("tgt_mask"), p.floats("mem_pad"), p.floats("mem_mask"),
                             out.at("output").data.data(),
                             out.count("cross_attn_weights") ? out.at("cross_attn_weights").data.data() : nullptr);
  }

};

}  // namespace

std::unique_ptr<Arch> parse_transformer_decoder(ConfigReader& f) {
  return std::make_unique<TransformerDecoderArch>(read_transformer(f));
}

}  // namespace vkfuse::detail
