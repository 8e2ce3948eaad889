#pragma once
// vkfuse: transformer encoders and vision-text cross-attention fusion on any Vulkan GPU.
#include "vkfuse/context.hpp"
#include "vkfuse/device.hpp"
#include "vkfuse/error.hpp"
#include "vkfuse/half.hpp"
#include "vkfuse/ops.hpp"
#include "vkfuse/reference.hpp"
#include "vkfuse/safetensors.hpp"
#include "vkfuse/sequence.hpp"
#include "vkfuse/tensor.hpp"
#include "vkfuse/tuning.hpp"
