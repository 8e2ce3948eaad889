// Block suballocator: one VkDeviceMemory + VkBuffer per block, first-fit sub-ranges.
#include "allocator.h"

#include <algorithm>

#include "io/message_text.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

struct Block {
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  MemoryKind kind = MemoryKind::Device;
  uint8_t* mapped = nullptr;
  std::map<VkDeviceSize, VkDeviceSize> free;  // offset -> size, merged with neighbours
};

namespace {
const char* kind_name(MemoryKind k) {
  return k == MemoryKind::Device ? "device-local" : k == MemoryKind::Direct ? "device-local host-visible" : "staging";
}
}  // namespace

Allocator::Allocator(const VulkanFunctions& vk, VkPhysicalDevice pd, VkDevice device,
                     VkDeviceSize alignment, VkDeviceSize max_allocation)
    : vk_(vk), device_(device), alignment_(alignment), max_allocation_(max_allocation) {
  vk.vkGetPhysicalDeviceMemoryProperties(pd, &props_);
}

Allocator::~Allocator() {
  for (auto& b : blocks_) {
    if (b->mapped) vk_.vkUnmapMemory(device_, b->memory);
    vk_.vkDestroyBuffer(device_, b->buffer, nullptr);
    vk_.vkFreeMemory(device_, b->memory, nullptr);
  }
}

int Allocator::memory_type(MemoryKind kind) const {
  VkMemoryPropertyFlags want = 0, prefer = 0;
  switch (kind) {
    case MemoryKind::Device: want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT; break;
    case MemoryKind::Direct:
      want = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
             VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      break;
    case MemoryKind::Staging:
      want = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
      prefer = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;  // downloads read it back
      break;
  }
  int found = -1;
  for (uint32_t i = 0; i < props_.memoryTypeCount; ++i) {
    VkMemoryPropertyFlags f = props_.memoryTypes[i].propertyFlags;
    if ((f & want) != want) continue;
    if (found < 0 || ((f & prefer) && !(props_.memoryTypes[found].propertyFlags & prefer)))
      found = static_cast<int>(i);
  }
  return found;
}

bool Allocator::has_kind(MemoryKind kind) const { return memory_type(kind) >= 0; }

Block* Allocator::new_block(VkDeviceSize size, MemoryKind kind) {
  auto b = std::make_unique<Block>();
  b->size = size;
  b->kind = kind;
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = size;
  bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
              VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
              VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VK_CHECK(vk_.vkCreateBuffer(device_, &bci, nullptr, &b->buffer));
  VkMemoryRequirements req;
  vk_.vkGetBufferMemoryRequirements(device_, b->buffer, &req);
  int type = memory_type(kind);
  if (type < 0 || !(req.memoryTypeBits & (1u << type))) {
    vk_.vkDestroyBuffer(device_, b->buffer, nullptr);
    throw Error(std::string("the device has no ") + kind_name(kind) + " memory type for buffers");
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = static_cast<uint32_t>(type);
  VkResult r = vk_.vkAllocateMemory(device_, &ai, nullptr, &b->memory);
  if (r != VK_SUCCESS) {
    vk_.vkDestroyBuffer(device_, b->buffer, nullptr);
    uint32_t heap = props_.memoryTypes[type].heapIndex;
    throw Error(std::string("out of ") + kind_name(kind) + " memory: vkAllocateMemory of a " +
                mib(req.size) + " block failed with " + result_name(r) + "; " + mib(in_use_) +
                " in use in " + std::to_string(blocks_.size()) + " blocks, heap size " +
                mib(props_.memoryHeaps[heap].size));
  }
  try {  // the buffer and its memory are freed if binding or mapping fails
    VK_CHECK(vk_.vkBindBufferMemory(device_, b->buffer, b->memory, 0));
    if (kind != MemoryKind::Device) {
      void* p = nullptr;
      VK_CHECK(vk_.vkMapMemory(device_, b->memory, 0, VK_WHOLE_SIZE, 0, &p));
      b->mapped = static_cast<uint8_t*>(p);
    }
  } catch (...) {
    vk_.vkDestroyBuffer(device_, b->buffer, nullptr);
    vk_.vkFreeMemory(device_, b->memory, nullptr);
    throw;
  }
  b->free[0] = size;
  blocks_.push_back(std::move(b));
  return blocks_.back().get();
}

Allocation Allocator::allocate(VkDeviceSize size, MemoryKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  size = std::max<VkDeviceSize>(size, 1);
  size = (size + alignment_ - 1) / alignment_ * alignment_;
  if (size > max_allocation_)
    throw Error("allocation of " + mib(size) + " exceeds the largest buffer vkfuse makes (" +
                mib(max_allocation_) + ")");
  auto take = [&](Block* b) -> Allocation {
    for (auto it = b->free.begin(); it != b->free.end(); ++it) {
      if (it->second < size) continue;
      VkDeviceSize off = it->first, rest = it->second - size;
      b->free.erase(it);
      if (rest) b->free[off + size] = rest;
      in_use_ += size;
      peak_ = std::max(peak_, in_use_);
      return Allocation{b, b->buffer, off, size, b->mapped ? b->mapped + off : nullptr};
    }
    return {};
  };
  for (auto& b : blocks_)
    if (b->kind == kind)
      if (Allocation a = take(b.get()); a.block) return a;
  Block* b = new_block(std::max(size, std::min(kBlockSize, max_allocation_)), kind);
  return take(b);
}

void Allocator::free(const Allocation& a) {
  if (!a.block) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto& fl = a.block->free;
  auto it = fl.emplace(a.offset, a.size).first;
  if (auto next = std::next(it); next != fl.end() && it->first + it->second == next->first) {
    it->second += next->second;
    fl.erase(next);
  }
  if (it != fl.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      fl.erase(it);
    }
  }
  in_use_ -= a.size;
}

uint64_t Allocator::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}
uint64_t Allocator::peak_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}
void Allocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mutex_);
  peak_ = in_use_;
}

uint64_t Allocator::reserved() const {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t s = 0;
  for (auto& b : blocks_) s += b->size;
  return s;
}

}  // namespace vkfuse::detail
