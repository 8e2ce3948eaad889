// Compute pipelines from embedded SPIR-V, kept in memory and in a VkPipelineCache file.
#include "pipeline.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cache_file.h"
#include "shader_table.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

Pipeline::~Pipeline() {
  if (pipeline) vk->vkDestroyPipeline(device, pipeline, nullptr);
  if (layout) vk->vkDestroyPipelineLayout(device, layout, nullptr);
  if (set_layout) vk->vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
}

namespace {

std::string default_cache_dir() {
  if (const char* d = std::getenv("VKFUSE_CACHE_DIR")) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vkfuse";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/vkfuse";
  return "";
}

// The header every VkPipelineCache blob starts with (Vulkan spec, "Pipeline Cache").
// Data from another driver or device is dropped here rather than trusted to the driver.
bool header_matches(const std::vector<char>& data, const VkPhysicalDeviceProperties& p) {
  if (data.size() < 16 + VK_UUID_SIZE) return false;
  uint32_t len, version, vendor, device;
  std::memcpy(&len, data.data(), 4);
  std::memcpy(&version, data.data() + 4, 4);
  std::memcpy(&vendor, data.data() + 8, 4);
  std::memcpy(&device, data.data() + 12, 4);
  return len >= 16 + VK_UUID_SIZE && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         vendor == p.vendorID && device == p.deviceID &&
         std::memcmp(data.data() + 16, p.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

}  // namespace

PipelineCache::PipelineCache(const VulkanFunctions& vk, VkDevice device, const DeviceInfo& info,
                             const VkPhysicalDeviceProperties& props, const std::string& dir_opt,
                             std::function<void(const std::string&)> warn)
    : vk_(vk), device_(device), warn_(std::move(warn)) {
  std::string dir = dir_opt.empty() ? default_cache_dir() : dir_opt;
  std::vector<char> data;
  if (!dir.empty() && dir != "none") {
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; ++i) std::snprintf(uuid + 2 * i, 3, "%02x", props.pipelineCacheUUID[i]);
    char name[160];
    std::snprintf(name, sizeof name, "/pipelines-%04x-%04x-%08x-%s.bin", info.vendor_id,
                  info.device_id, info.driver_version, uuid);
    path_ = dir + name;
    data = read_cache_file(path_, warn_);
    if (!header_matches(data, props)) data.clear();
  }
  loaded_bytes_ = data.size();
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = data.size();
  ci.pInitialData = data.empty() ? nullptr : data.data();
  VK_CHECK(vk_.vkCreatePipelineCache(device_, &ci, nullptr, &cache_));
}

PipelineCache::~PipelineCache() {
  pipelines_.clear();
  if (cache_) vk_.vkDestroyPipelineCache(device_, cache_, nullptr);
}

void PipelineCache::save() {
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  VK_CHECK(vk_.vkGetPipelineCacheData(device_, cache_, &n, nullptr));
  std::vector<char> data(n);
  VK_CHECK(vk_.vkGetPipelineCacheData(device_, cache_, &n, data.data()));
  data.resize(n);
  write_cache_file(path_, data, warn_);
}

const Pipeline& PipelineCache::get(shader::Variant variant, const std::vector<uint32_t>& spec) {
  const VariantInfo& v = variant_info(variant);
  if (spec.size() != v.spec_count)
    throw Error(std::string("shader variant '") + v.name + "' takes " + std::to_string(v.spec_count) +
                " specialization constants, given " + std::to_string(spec.size()));
  std::string key = v.name;
  for (uint32_t c : spec) key += "/" + std::to_string(c);
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  const uint32_t bindings = v.bindings, push_bytes = v.push_bytes, texel_bindings = v.texel_bindings;
  auto p = std::make_unique<Pipeline>();
  p->vk = &vk_;
  p->device = device_;
  p->bindings = bindings;
  p->push_bytes = push_bytes;
  p->texel_bindings = texel_bindings;
  p->name = key;

  std::vector<VkDescriptorSetLayoutBinding> b(bindings);
  for (uint32_t i = 0; i < bindings; ++i)
    b[i] = {i,
            (texel_bindings >> i) & 1u ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                        : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dci.bindingCount = bindings;
  dci.pBindings = b.data();
  VK_CHECK(vk_.vkCreateDescriptorSetLayout(device_, &dci, nullptr, &p->set_layout));
  VkPushConstantRange pcr{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes};
  VkPipelineLayoutCreateInfo lci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  lci.setLayoutCount = 1;
  lci.pSetLayouts = &p->set_layout;
  lci.pushConstantRangeCount = push_bytes ? 1 : 0;
  lci.pPushConstantRanges = &pcr;
  VK_CHECK(vk_.vkCreatePipelineLayout(device_, &lci, nullptr, &p->layout));

  VkShaderModuleCreateInfo sci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  sci.codeSize = v.count * 4;
  sci.pCode = v.words;
  VkShaderModule module;
  VK_CHECK(vk_.vkCreateShaderModule(device_, &sci, nullptr, &module));
  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo si{static_cast<uint32_t>(spec.size()), entries.data(), spec.size() * 4,
                          spec.data()};
  VkComputePipelineCreateInfo cci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cci.stage.module = module;
  cci.stage.pName = "main";
  cci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  cci.layout = p->layout;
  VkResult r = vk_.vkCreateComputePipelines(device_, cache_, 1, &cci, nullptr, &p->pipeline);
  vk_.vkDestroyShaderModule(device_, module, nullptr);
  if (r != VK_SUCCESS)
    throw Error("vkCreateComputePipelines for shader '" + key + "' failed with " + result_name(r));
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

}  // namespace vkfuse::detail
