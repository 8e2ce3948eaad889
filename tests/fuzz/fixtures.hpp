#pragma once
// The models the fuzz targets put their inputs to: one PyTorch fixture per arch, loaded once.
#include <string>
#include <vector>

#include "vkfuse/model.hpp"

namespace fuzz {

inline const std::vector<std::string>& fixture_paths() {
  static const std::vector<std::string> paths = {
      std::string(VKFUSE_TEST_DATA) + "/attention/key_padding_mask/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/transformer_encoder/pre_norm_gelu_padding/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/transformer_decoder/pre_norm_gelu_masks/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/vision_text_fusion/mean_text_to_image_softmax/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/vit/heads12_state_dict/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/clip/both_towers_quick_gelu/model.safetensors",
      std::string(VKFUSE_TEST_DATA) + "/bert/padded_token_types_gelu/model.safetensors"};
  return paths;
}

inline const std::vector<vkfuse::Model>& fixtures() {
  static const std::vector<vkfuse::Model> models = [] {
    std::vector<vkfuse::Model> m;
    for (const auto& p : fixture_paths()) m.push_back(vkfuse::Model::load(p));
    return m;
  }();
  return models;
}

}  // namespace fuzz
