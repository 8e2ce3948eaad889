#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "vk.h"

namespace vkfuse::detail {

enum class MemoryKind {
  Device,   // device-local; host cannot see it
  Direct,   // device-local and host-visible (UMA), mapped
  Staging,  // host-visible, mapped; the host side of a Device tensor
};

struct Block;

// A sub-range of one block: (buffer, offset, size), with its mapping if host-visible.
struct Allocation {
  Block* block = nullptr;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0, size = 0;
  uint8_t* mapped = nullptr;
};

// Suballocates buffers from large blocks of device memory: one VkDeviceMemory and one
// VkBuffer per block, aligned sub-ranges handed out first-fit, freed ranges merged with
// their neighbours and reused. Never one VkDeviceMemory per tensor.
class Allocator {
 public:
  Allocator(const struct VulkanFunctions& vk, VkPhysicalDevice pd, VkDevice device,
            VkDeviceSize alignment, VkDeviceSize max_allocation);
  ~Allocator();
  Allocation allocate(VkDeviceSize size, MemoryKind kind);
  void free(const Allocation& a);
  uint64_t in_use() const;
  uint64_t reserved() const;
  uint64_t peak_in_use() const;
  void reset_peak();
  bool has_kind(MemoryKind kind) const;
  static constexpr VkDeviceSize kBlockSize = 64ull << 20;

 private:
  Block* new_block(VkDeviceSize size, MemoryKind kind);
  int memory_type(MemoryKind kind) const;
  const VulkanFunctions& vk_;
  VkDevice device_;
  VkPhysicalDeviceMemoryProperties props_{};
  VkDeviceSize alignment_, max_allocation_;
  std::vector<std::unique_ptr<Block>> blocks_;
  mutable std::mutex mutex_;
  uint64_t in_use_ = 0, peak_ = 0;
};

}  // namespace vkfuse::detail
