#pragma once
// Model files (model-format.md §2): a safetensors file whose metadata key `vkfuse.config`
// holds the architecture's config as JSON and whose tensors are the PyTorch state_dict().
#include <map>
#include <string>
#include <vector>

#include "vkfuse/context.hpp"
#include "vkfuse/multihead_attention.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/fusion.hpp"
#include "vkfuse/transformer.hpp"

namespace vkfuse {

// A host tensor: what `vkfuse run` reads from and writes to files.
struct HostTensor {
  Shape shape;
  std::vector<float> data;
};
using HostTensors = std::map<std::string, HostTensor>;

class Model {
 public:
  // Reads and checks the file: config fields and types, every tensor present with the shape
  // the config implies, none unexpected. F16 and BF16 weights become F32 once, here.
  static Model load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& arch() const { return arch_; }
  const std::string& config_json() const { return config_json_; }  // as stored in the file
  // Every metadata string of the file (vkfuse.config, and what the exporter added, such as
  // vkfuse.vocab and vkfuse.image_preprocess; docs/model-format.md).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const MultiheadAttentionConfig& attention_config() const { return mha_; }
  const TransformerConfig& transformer_config() const { return tf_; }
  const FusionConfig& fusion_config() const { return fusion_; }
  const WeightMap& weights() const { return weights_; }

  // The forward pass on named inputs (model-format.md §2 lists them per arch), on the GPU
  // or, without a context, on the CPU reference. Outputs by name; `attn_weights` too when
  // need_weights. Errors name the input and what is wrong.
  HostTensors run(const SafetensorsFile& inputs, bool need_weights, Context* gpu) const;

 private:
  std::string path_, arch_, config_json_;
  std::map<std::string, std::string> metadata_;
  MultiheadAttentionConfig mha_;
  TransformerConfig tf_;
  FusionConfig fusion_;
  WeightMap weights_;
};

}  // namespace vkfuse
