#pragma once
#include <cstdint>
#include <vector>

#include "vk.h"

namespace vkfuse::detail {

// A query pool of `count` timestamps; each dispatch gets a pair written at
// BOTTOM_OF_PIPE before and after it, so a pair spans exactly that dispatch's execution.
class Timestamps {
 public:
  Timestamps(const VulkanFunctions& vk, VkDevice device, uint32_t count, uint32_t valid_bits,
             float period_ns);
  ~Timestamps();
  Timestamps(const Timestamps&) = delete;
  Timestamps& operator=(const Timestamps&) = delete;
  void reset(VkCommandBuffer cb, uint32_t first, uint32_t count);
  void write(VkCommandBuffer cb, uint32_t index);
  // Milliseconds between timestamps 2i and 2i+1, for every pair.
  std::vector<double> pair_ms();

 private:
  const VulkanFunctions& vk_;
  VkDevice device_;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t count_;
  uint64_t mask_;
  double period_ns_;
};

}  // namespace vkfuse::detail
