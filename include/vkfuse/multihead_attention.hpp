#pragma once
// torch.nn.MultiheadAttention(embed_dim, num_heads, bias, kdim, vdim, batch_first=True): the
// building block of self- and cross-attention fusion (text queries over image keys and
// values, or the other way round: the same module with other inputs).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vkfuse/ops.hpp"

namespace vkfuse {

struct MultiheadAttentionConfig {
  int64_t embed_dim = 0, num_heads = 0;
  int64_t kdim = 0, vdim = 0;  // 0: embed_dim
  bool bias = true;
  ops::Score score = ops::Score::Dot;

  int64_t k_dim() const { return kdim ? kdim : embed_dim; }
  int64_t v_dim() const { return vdim ? vdim : embed_dim; }
  int64_t head_dim() const { return embed_dim / num_heads; }
  bool packed() const { return k_dim() == embed_dim && v_dim() == embed_dim; }  // in_proj_weight
  // The state_dict() names and shapes this config needs, as PyTorch saves them.
  std::vector<std::pair<std::string, Shape>> tensors() const;
  void validate() const;  // throws Error naming the bad field
};

// Host weights by their state_dict() name.
using WeightMap = std::map<std::string, std::vector<float>>;

struct AttentionMasks {
  const Tensor* key_padding = nullptr;  // additive F32 [B, S] (see additive_mask)
  const Tensor* attn_mask = nullptr;    // additive F32 [L, S]
  bool causal = false;                  // key j > query l masked, without a stored mask
};

class MultiheadAttention {
 public:
  // Uploads the weights once. Throws Error naming a missing, unexpected or misshaped tensor.
  MultiheadAttention(Context& ctx, const MultiheadAttentionConfig& config, const WeightMap& weights);

  // Records output = attention(query [B,L,E], key [B,S,kdim], value [B,S,vdim]) -> [B,L,E],
  // and the attention probabilities averaged over heads into weights [B,L,S] when given.
  // Passing the same tensor as query, key and value projects all three in one matmul; the same
  // tensor as key and value projects those two in one.
  // A residual (output's shape) is added to the output projection in the same dispatch.
  void record(Sequence& s, const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& output,
              const AttentionMasks& masks = {}, const Tensor* weights = nullptr, const Tensor* residual = nullptr);

  const MultiheadAttentionConfig& config() const { return config_; }

 private:
  Context ctx_;
  MultiheadAttentionConfig config_;
  std::map<std::string, Tensor> w_;
};

// Boolean "not allowed" flags (nonzero = masked) as an additive mask: 0 or -inf.
std::vector<float> additive_mask(const std::vector<uint8_t>& masked);

namespace ref {
// The module on the CPU, inputs contiguous as in MultiheadAttention::record; weights [B,L,S]
// when not null.
void multihead_attention(const MultiheadAttentionConfig& c, const WeightMap& w, const float* query,
                         const float* key, const float* value, int64_t b, int64_t l, int64_t s,
                         const float* key_pad, const float* attn_mask, float* out, float* weights);
}  // namespace ref

}  // namespace vkfuse
