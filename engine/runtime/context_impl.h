#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "allocator.h"
#include "pipeline.h"
#include "vk.h"
#include "vkfuse/context.hpp"

namespace vkfuse::detail {

// The Vulkan instance with an optional validation messenger. Destroyed last.
struct Instance {
  VulkanFunctions vk;
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  std::function<void(MessageSeverity, const std::string&)> on_message;

  explicit Instance(bool validation,
                    std::function<void(MessageSeverity, const std::string&)> on_message = {});
  ~Instance();
  void release() noexcept;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  std::vector<VkPhysicalDevice> physical_devices() const;
  DeviceInfo describe(VkPhysicalDevice pd, uint32_t index) const;
};

struct ContextImpl {
  Options options;
  std::unique_ptr<Instance> inst;
  const VulkanFunctions* vk = nullptr;  // inst->vk, with device functions loaded
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  uint32_t timestamp_valid_bits = 0;
  DeviceInfo info;
  Capabilities caps;
  Tuning tuning;
  DType weight_dtype = DType::F32;  // of Context::matrix() without one
  bool direct_memory = false;  // tensors live in host-visible device-local memory
  std::unique_ptr<Allocator> allocator;
  std::unique_ptr<PipelineCache> pipelines;
  VkCommandPool transfer_pool = VK_NULL_HANDLE;
  VkFence transfer_fence = VK_NULL_HANDLE;
  std::mutex queue_mutex;

  explicit ContextImpl(const Options& o);
  ~ContextImpl();
  ContextImpl(const ContextImpl&) = delete;
  ContextImpl& operator=(const ContextImpl&) = delete;

  // Records `fn` into a one-shot command buffer, submits it and waits.
  template <class F> void one_shot(F&& fn);
  void one_shot_impl(const std::function<void(VkCommandBuffer)>& fn);
  void submit(const std::vector<VkCommandBuffer>& cbs, VkFence fence);
  // A problem that costs only speed (the pipeline cache file): to Options::on_message, or
  // stderr without one.
  void warn(const std::string& message) const;

 private:
  void finish_setup();      // everything after vkCreateDevice
  void release() noexcept;  // destroys what exists, the device last; safe to call twice
};

template <class F> void ContextImpl::one_shot(F&& fn) { one_shot_impl(std::forward<F>(fn)); }

// A full barrier between any earlier and later compute or transfer work, and to host reads.
void full_barrier(const VulkanFunctions& vk, VkCommandBuffer cb, bool to_host);

}  // namespace vkfuse::detail
