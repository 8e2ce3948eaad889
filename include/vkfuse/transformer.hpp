#pragma once
// torch.nn.TransformerEncoder of TransformerEncoderLayer(d_model, nhead, dim_feedforward,
// dropout=0, activation, layer_norm_eps, batch_first=True, norm_first), with an optional
// final LayerNorm: the text and vision towers of a fusion model.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vkfuse/multihead_attention.hpp"

namespace vkfuse {

struct TransformerConfig {
  int64_t d_model = 0, nhead = 0, dim_feedforward = 0, num_layers = 0;
  ops::Activation activation = ops::Activation::Relu;  // Relu, Gelu (erf), QuickGelu, GeluTanh
  float layer_norm_eps = 1e-5f;
  bool norm_first = false, final_norm = false;

  void validate() const;  // throws Error naming the bad field
  // state_dict() names and shapes of the encoder, each under `prefix`.
  std::vector<std::pair<std::string, Shape>> encoder_tensors(const std::string& prefix = "") const;
  // ... of one decoder layer under `prefix` (e.g. "layers.0."), and of the whole decoder.
  std::vector<std::pair<std::string, Shape>> decoder_layer_tensors(const std::string& prefix) const;
  std::vector<std::pair<std::string, Shape>> decoder_tensors(const std::string& prefix = "") const;
  MultiheadAttentionConfig attention() const;
};

// The weights under `prefix`, with the prefix taken off their names.
WeightMap sub_weights(const WeightMap& w, const std::string& prefix);

class TransformerEncoder {
 public:
  // Uploads the weights (names as encoder_tensors(prefix)) once.
  TransformerEncoder(Context& ctx, const TransformerConfig& config, const WeightMap& weights,
                     const std::string& prefix = "");
  ~TransformerEncoder();
  // Records out = encoder(src), both [B, L, d_model]; masks additive F32: key padding [B, L],
  // attention mask [L, L]. Seven dispatches per layer.
  void record(Sequence& s, const Tensor& src, const Tensor& out, const AttentionMasks& masks = {});
  const TransformerConfig& config() const { return config_; }

 private:
  struct Layer;
  Context ctx_;
  TransformerConfig config_;
  std::vector<std::unique_ptr<Layer>> layers_;
  Tensor norm_w_, norm_b_;
};

// Self-attention masks over the target and cross-attention masks over the memory.
struct DecoderMasks {
  AttentionMasks self;   // key padding [B, L], attention mask [L, L]
  AttentionMasks cross;  // key padding [B, S], attention mask [L, S]
};

// One nn.TransformerDecoderLayer: self-attention over tgt, cross-attention from tgt to memory,
// feed-forward; each with residual and LayerNorm. A fusion layer of a vision-text model.
class TransformerDecoderLayer {
 public:
  TransformerDecoderLayer(Context& ctx, const TransformerConfig& config, const WeightMap& weights,
                          const std::string& prefix);
  // out = layer(tgt [B, L, E], memory [B, S, E]); the cross-attention probabilities averaged
  // over heads into cross_weights [B, L, S] when given.
  void record(Sequence& s, const Tensor& tgt, const Tensor& memory, const Tensor& out, const DecoderMasks& masks = {},
              const Tensor* cross_weights = nullptr);
  ~TransformerDecoderLayer();

 private:
  struct Weights;  // its attention modules, linear and norm weights on the device
  TransformerConfig config_;
  std::unique_ptr<Weights> w_;
};

class TransformerDecoder {
 public:
  TransformerDecoder(Context& ctx, const TransformerConfig& config, const WeightMap& weights,
                     const std::string& prefix = "");
  ~TransformerDecoder();
  // cross_weights: of the last layer.
  void record(Sequence& s, const Tensor& tgt, const Tensor& memory, const Tensor& out, const DecoderMasks& masks = {},
              const Tensor* cross_weights = nullptr);

 private:
  Context ctx_;
  TransformerConfig config_;
  std::vector<std::unique_ptr<TransformerDecoderLayer>> layers_;
  Tensor norm_w_, norm_b_;
};

namespace ref {
// Masks as in DecoderMasks, additive, null when absent; cross_weights [B, L, S] or null.
void transformer_decoder_layer(const TransformerConfig& c, const WeightMap& w, const std::string& prefix,
                               const float* tgt, const float* memory, int64_t b, int64_t l, int64_t s,
                               const float* tgt_pad, const float* tgt_mask, const float* mem_pad,
                               const float* mem_mask, float* out, float* cross_weights);
void transformer_decoder(const TransformerConfig& c, const WeightMap& w, const std::string& prefix, const float* tgt,
                         const float* memory, int64_t b, int64_t l, int64_t s, const float* tgt_pad,
                         const float* tgt_mask, const float* mem_pad, const float* mem_mask, float* out,
                         float* cross_weights);
void transformer_encoder(const TransformerConfig& c, const WeightMap& w, const std::string& prefix, const float* src,
                         int64_t b, int64_t l, const float* key_pad, const float* attn_mask, float* out);
}  // namespace ref

}  // namespace vkfuse
