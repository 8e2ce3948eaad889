#pragma once
// arch vision_text_fusion (model-format.md §2): a vision encoder over image patches and a text
// encoder over tokens, joined by cross-attention fusion layers, a joint encoder, pooling and a
// task head.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "vkfuse/transformer.hpp"

namespace vkfuse {

struct FusionConfig {
  TransformerConfig layer;  // d_model, nhead, dim_feedforward, activation, eps, norm_first
  int64_t in_channels = 3, image_size = 0, patch_size = 0, vision_layers = 0;
  bool use_cls_token = false;
  int64_t vocab_size = 0, max_text_len = 0, text_layers = 0, pad_token_id = 0;
  int64_t fusion_layers = 0, joint_layers = 0;
  bool bidirectional = true;  // fusion_mode "bidirectional" (else "text_to_image")
  bool pool_cls = true;       // pooling "cls" (else "mean")
  int64_t num_outputs = 1;
  enum class Output { Sigmoid, Softmax, None } output_activation = Output::Sigmoid;

  int64_t grid() const { return image_size / patch_size; }
  int64_t patches() const { return grid() * grid(); }
  int64_t image_tokens() const { return patches() + (use_cls_token ? 1 : 0); }  // Nv
  TransformerConfig encoder(int64_t layers) const;
  void validate() const;
  std::vector<std::pair<std::string, Shape>> tensors() const;
};

// One batch of inputs, prepared on the host: ids checked against the vocabulary, padding
// from attention_mask or pad_token_id, pooling weights.
struct FusionBatch {
  int64_t b = 0, t = 0;
  std::vector<float> image;         // [B, C, H, W]
  std::vector<int32_t> ids;         // [B, T]
  std::vector<uint8_t> real;        // [B, T], 1 = a real token
  static FusionBatch make(const FusionConfig& c, std::vector<float> image, int64_t b, const std::vector<int64_t>& ids,
                          int64_t t, const std::vector<uint8_t>* attention_mask);
  std::vector<float> text_pad() const;   // additive [B, T]
  std::vector<float> joint_pad(const FusionConfig& c) const;  // additive [B, T + Nv]
  std::vector<float> pool_text(const FusionConfig& c) const;  // [B, 1, T]
  std::vector<float> pool_image(const FusionConfig& c) const; // [1, 1, Nv]
};

struct FusionOutputs {
  std::vector<float> logits, probs, cross_weights;  // [B, O], [B, O], [B, T, Nv]
};

class VisionTextFusion {
 public:
  VisionTextFusion(Context& ctx, const FusionConfig& config, const WeightMap& weights);
  ~VisionTextFusion();
  // Records the forward pass of one batch shape; inputs are uploaded by the caller (see
  // run()), weights [B, T, Nv] of the last text-to-image layer when given.
  struct Inputs {
    Tensor image, ids, text_pad, joint_pad, pool_text, pool_image;
  };
  void record(Sequence& s, const Inputs& in, const Tensor& logits, const Tensor& probs, const Tensor* weights);
  // Uploads, records, runs and reads back one batch.
  FusionOutputs run(const FusionBatch& batch, bool need_weights);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

namespace ref {
FusionOutputs vision_text_fusion(const FusionConfig& c, const WeightMap& w, const FusionBatch& batch, bool need_weights);
}  // namespace ref

}  // namespace vkfuse
