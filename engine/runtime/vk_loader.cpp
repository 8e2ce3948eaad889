#include <dlfcn.h>

#include <cstring>

#include "vk.h"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

namespace {
void* open_loader() {
  static void* handle = [] {
    const char* names[] = {"libvulkan.so.1", "libvulkan.so", "libvulkan.dylib",
                           "libvulkan.1.dylib", "libMoltenVK.dylib"};
    for (const char* n : names)
      if (void* h = dlopen(n, RTLD_NOW | RTLD_LOCAL)) return h;
    return static_cast<void*>(nullptr);
  }();
  return handle;
}
}  // namespace

VulkanFunctions load_global_functions() {
  void* h = open_loader();
  if (!h)
    throw Error("no Vulkan loader found (libvulkan.so.1): install a Vulkan driver, e.g. "
                "'apt-get install libvulkan1 mesa-vulkan-drivers'");
  VulkanFunctions f;
  f.vkGetInstanceProcAddr =
      reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(h, "vkGetInstanceProcAddr"));
  if (!f.vkGetInstanceProcAddr) throw Error("the Vulkan loader has no vkGetInstanceProcAddr");
#define VKFUSE_LOAD(name) \
  f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(nullptr, #name));
  VKFUSE_GLOBAL_FUNCTIONS(VKFUSE_LOAD)
#undef VKFUSE_LOAD
  if (!f.vkCreateInstance) throw Error("the Vulkan loader has no vkCreateInstance");
  return f;
}

void load_instance_functions(VulkanFunctions& f, VkInstance instance) {
#define VKFUSE_LOAD(name)                                                             \
  f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(instance, #name));    \
  if (!f.name) throw Error("Vulkan instance function " #name " is missing");
  VKFUSE_INSTANCE_FUNCTIONS(VKFUSE_LOAD)
#undef VKFUSE_LOAD
#define VKFUSE_LOAD_OPTIONAL(name) \
  f.name = reinterpret_cast<PFN_##name>(f.vkGetInstanceProcAddr(instance, #name));
  VKFUSE_OPTIONAL_INSTANCE_FUNCTIONS(VKFUSE_LOAD_OPTIONAL)
#undef VKFUSE_LOAD_OPTIONAL
}

void load_device_functions(VulkanFunctions& f, VkDevice device) {
#define VKFUSE_LOAD(name)                                                        \
  f.name = reinterpret_cast<PFN_##name>(f.vkGetDeviceProcAddr(device, #name));   \
  if (!f.name) throw Error("Vulkan device function " #name " is missing");
  VKFUSE_DEVICE_FUNCTIONS(VKFUSE_LOAD)
#undef VKFUSE_LOAD
}

const char* result_name(VkResult r) {
  switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    C(VK_ERROR_INITIALIZATION_FAILED) C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED)
    C(VK_ERROR_LAYER_NOT_PRESENT) C(VK_ERROR_EXTENSION_NOT_PRESENT)
    C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED)
    C(VK_ERROR_FRAGMENTED_POOL) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_UNKNOWN)
    C(VK_ERROR_INVALID_SHADER_NV) C(VK_PIPELINE_COMPILE_REQUIRED)
#undef C
    default: return "VkResult(?)";
  }
}

void throw_vk(const char* call, VkResult r, const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  throw Error(std::string(call) + " failed with " + result_name(r) + " (" +
              std::to_string(static_cast<int>(r)) + ") at " + (base ? base + 1 : file) + ":" +
              std::to_string(line));
}

}  // namespace vkfuse::detail
