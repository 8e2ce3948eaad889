#include "timestamps.h"

namespace vkfuse::detail {

Timestamps::Timestamps(const VulkanFunctions& vk, VkDevice device, uint32_t count,
                       uint32_t valid_bits, float period_ns)
    : vk_(vk), device_(device), count_(count),
      mask_(valid_bits >= 64 ? ~0ull : (1ull << valid_bits) - 1), period_ns_(period_ns) {
  VkQueryPoolCreateInfo ci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  ci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  ci.queryCount = count;
  VK_CHECK(vk_.vkCreateQueryPool(device_, &ci, nullptr, &pool_));
}

Timestamps::~Timestamps() { vk_.vkDestroyQueryPool(device_, pool_, nullptr); }

void Timestamps::reset(VkCommandBuffer cb, uint32_t first, uint32_t count) {
  if (count) vk_.vkCmdResetQueryPool(cb, pool_, first, count);
}

void Timestamps::write(VkCommandBuffer cb, uint32_t index) {
  vk_.vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool_, index);
}

std::vector<double> Timestamps::pair_ms() {
  std::vector<uint64_t> t(count_);
  VK_CHECK(vk_.vkGetQueryPoolResults(device_, pool_, 0, count_, t.size() * 8, t.data(), 8,
                                     VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  std::vector<double> ms(count_ / 2);
  for (uint32_t i = 0; i < ms.size(); ++i)
    ms[i] = static_cast<double>((t[2 * i + 1] - t[2 * i]) & mask_) * period_ns_ * 1e-6;
  return ms;
}

}  // namespace vkfuse::detail
