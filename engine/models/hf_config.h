#pragma once
// What the configs of Hugging Face's and torchvision's models share (docs/model-format.md,
// "Standard architectures"): the keys every saved config carries that do not change the
// math, the ones that do and must keep their default, and the activation names.
#include "models/config.h"
#include "vkfuse/ops.hpp"

namespace vkfuse::detail {

// The keys of transformers' PretrainedConfig (and of configs older versions saved): names,
// versions, generation and training settings are ignored; decoder and cross-attention flags
// and pruned heads, which change the computation, must keep their defaults.
void read_hf_common(ConfigReader& c);

// hidden_act by its Hugging Face name, one of `allowed` ("gelu", "relu", "quick_gelu",
// "gelu_new"); an Error naming the key and the value otherwise.
ops::Activation hf_activation(ConfigReader& c, std::initializer_list<const char*> allowed, const char* fallback);

}  // namespace vkfuse::detail
