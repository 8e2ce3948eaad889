#pragma once
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "shader_variants.h"
#include "vk.h"
#include "vkfuse/device.hpp"

namespace vkfuse::detail {

// One compute pipeline: an embedded shader variant + specialization constants, with the
// variant's bindings, texel bindings and push-constant size (shaders/<shader>.variants).
struct Pipeline {
  const VulkanFunctions* vk = nullptr;
  VkDevice device = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t bindings = 0, push_bytes = 0, texel_bindings = 0;
  std::string name;
  ~Pipeline();
};

// Pipelines kept in memory by (shader, specialization), over a VkPipelineCache that is
// loaded from and saved to a file keyed by vendor, device, driver version and
// pipelineCacheUUID.
class PipelineCache {
 public:
  PipelineCache(const VulkanFunctions& vk, VkDevice device, const DeviceInfo& info,
                const VkPhysicalDeviceProperties& props, const std::string& dir,
                std::function<void(const std::string&)> warn);
  ~PipelineCache();
  // `spec` holds the variant's specialization constants in its table's order, all of them.
  const Pipeline& get(shader::Variant variant, const std::vector<uint32_t>& spec);
  void save();
  const std::string& path() const { return path_; }
  size_t loaded_bytes() const { return loaded_bytes_; }

 private:
  const VulkanFunctions& vk_;
  VkDevice device_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::string path_;
  std::function<void(const std::string&)> warn_;  // problems with the cache file
  size_t loaded_bytes_ = 0;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
  std::mutex mutex_;
};

}  // namespace vkfuse::detail
