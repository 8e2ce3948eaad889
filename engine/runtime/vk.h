#pragma once
// Vulkan without link-time prototypes: the loader is opened at run time, so that a machine
// without one gets a clear error instead of a failure to start.
#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>

#include "vk_functions.h"

namespace vkfuse::detail {

struct VulkanFunctions {
#define VKFUSE_DECLARE(name) PFN_##name name = nullptr;
  VKFUSE_GLOBAL_FUNCTIONS(VKFUSE_DECLARE)
  VKFUSE_INSTANCE_FUNCTIONS(VKFUSE_DECLARE)
  VKFUSE_OPTIONAL_INSTANCE_FUNCTIONS(VKFUSE_DECLARE)
  VKFUSE_DEVICE_FUNCTIONS(VKFUSE_DECLARE)
#undef VKFUSE_DECLARE
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
};

// The loader's global functions; throws Error when libvulkan cannot be opened.
VulkanFunctions load_global_functions();
void load_instance_functions(VulkanFunctions& f, VkInstance instance);
void load_device_functions(VulkanFunctions& f, VkDevice device);

const char* result_name(VkResult r);
[[noreturn]] void throw_vk(const char* call, VkResult r, const char* file, int line);

}  // namespace vkfuse::detail

// Checks a VkResult; a failure throws an Error naming the call, the result and the place.
#define VK_CHECK(call)                                                          \
  do {                                                                          \
    VkResult vkfuse_r_ = (call);                                                \
    if (vkfuse_r_ != VK_SUCCESS)                                                \
      ::vkfuse::detail::throw_vk(#call, vkfuse_r_, __FILE__, __LINE__);         \
  } while (0)
