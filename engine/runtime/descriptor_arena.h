#pragma once
// The descriptor sets of one recording: one pool sized for exactly the dispatches recorded
// (only the descriptor types in use: a pool size of 0 is invalid) and the texel-buffer views
// their texel bindings need, all freed together when the recording is.
#include <vector>

#include "dispatch.h"

namespace vkfuse::detail {

class DescriptorArena {
 public:
  DescriptorArena(const VulkanFunctions& vk, VkDevice device, const std::vector<const Dispatch*>& dispatches);
  ~DescriptorArena();
  DescriptorArena(const DescriptorArena&) = delete;
  DescriptorArena& operator=(const DescriptorArena&) = delete;
  // A set of d's pipeline layout, written with d's bindings (each checked against the
  // pipeline's descriptor type).
  VkDescriptorSet bind(const Dispatch& d);

 private:
  const VulkanFunctions& vk_;
  VkDevice device_;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  std::vector<VkBufferView> views_;
};

}  // namespace vkfuse::detail
