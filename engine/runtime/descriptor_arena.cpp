// DescriptorArena: the descriptor pool and texel views of one recording.
#include "descriptor_arena.h"

#include <string>

#include "allocator.h"
#include "pipeline.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

DescriptorArena::DescriptorArena(const VulkanFunctions& vk, VkDevice device,
                                 const std::vector<const Dispatch*>& dispatches)
    : vk_(vk), device_(device) {
  uint32_t storage = 0, texel = 0;
  for (const Dispatch* d : dispatches)
    for (const auto& b : d->bindings) ++(b.texels ? texel : storage);
  if (dispatches.empty()) return;
  VkDescriptorPoolSize ps[2];
  uint32_t kinds = 0;
  if (storage) ps[kinds++] = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, storage};
  if (texel) ps[kinds++] = {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, texel};
  VkDescriptorPoolCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dci.maxSets = static_cast<uint32_t>(dispatches.size());
  dci.poolSizeCount = kinds;
  dci.pPoolSizes = ps;
  VK_CHECK(vk_.vkCreateDescriptorPool(device_, &dci, nullptr, &pool_));
}

DescriptorArena::~DescriptorArena() {
  for (VkBufferView v : views_) vk_.vkDestroyBufferView(device_, v, nullptr);
  if (pool_) vk_.vkDestroyDescriptorPool(device_, pool_, nullptr);
}

VkDescriptorSet DescriptorArena::bind(const Dispatch& d) {
  VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  ai.descriptorPool = pool_;
  ai.descriptorSetCount = 1;
  ai.pSetLayouts = &d.pipeline->set_layout;
  VkDescriptorSet set;
  VK_CHECK(vk_.vkAllocateDescriptorSets(device_, &ai, &set));
  std::vector<VkDescriptorBufferInfo> infos(d.bindings.size());
  std::vector<VkWriteDescriptorSet> writes(d.bindings.size());
  std::vector<VkBufferView> set_views(d.bindings.size(), VK_NULL_HANDLE);
  for (size_t i = 0; i < d.bindings.size(); ++i) {
    const Allocation& a = d.bindings[i].storage->device;
    infos[i] = {a.buffer, a.offset, a.size};
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    if (d.bindings[i].texels != (((d.pipeline->texel_bindings >> i) & 1u) != 0))
      throw Error("dispatch '" + d.label + "': binding " + std::to_string(i) +
                  " does not match the pipeline's descriptor type");
    if (d.bindings[i].texels) {
      // The allocator aligns offsets and sizes to 16 bytes and to the texel offset alignment.
      const VkDeviceSize texel = texel_bytes(d.bindings[i].texel_format);
      VkBufferViewCreateInfo vci{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
      vci.buffer = a.buffer;
      vci.format = d.bindings[i].texel_format;
      vci.offset = a.offset;
      vci.range = a.size / texel * texel;
      VK_CHECK(vk_.vkCreateBufferView(device_, &vci, nullptr, &set_views[i]));
      views_.push_back(set_views[i]);
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
      writes[i].pTexelBufferView = &set_views[i];
    } else {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[i].pBufferInfo = &infos[i];
    }
  }
  vk_.vkUpdateDescriptorSets(device_, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  return set;
}

}  // namespace vkfuse::detail
