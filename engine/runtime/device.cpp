// The Vulkan instance, device enumeration, capabilities and device selection.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "context_impl.h"
#include "vkfuse/error.hpp"

namespace vkfuse {
namespace detail {

namespace {

bool has_extension(const std::vector<VkExtensionProperties>& exts, const char* name) {
  return std::any_of(exts.begin(), exts.end(),
                     [&](const VkExtensionProperties& e) { return std::strcmp(e.extensionName, name) == 0; });
}

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data,
                                              void* user) {
  auto* inst = static_cast<Instance*>(user);
  MessageSeverity s = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT
                          ? MessageSeverity::Error
                          : severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT
                                ? MessageSeverity::Warning
                                : MessageSeverity::Info;
  std::string msg = data && data->pMessage ? data->pMessage : "(no message)";
  if (inst && inst->on_message)
    inst->on_message(s, msg);
  else
    std::fprintf(stderr, "vkfuse: validation: %s\n", msg.c_str());
  return VK_FALSE;
}

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) +
         "." + std::to_string(VK_API_VERSION_PATCH(v));
}

const char* vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x106B: return "Apple";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "Imagination";
    case 0x10005: return "Mesa";
    case 0x14E4: return "Broadcom";
    case 0x19E5: return "Huawei";
    case 0x1AE0: return "Google";
    default: return "unknown";
  }
}

const char* type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

int type_rank(const std::string& t) {
  if (t == "discrete") return 0;
  if (t == "integrated") return 1;
  if (t == "virtual") return 2;
  if (t == "cpu") return 3;
  return 4;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Instance::Instance(bool validation,
                   std::function<void(MessageSeverity, const std::string&)> cb)
    : vk(load_global_functions()), on_message(std::move(cb)) {
  uint32_t api = VK_API_VERSION_1_0;
  if (vk.vkEnumerateInstanceVersion) vk.vkEnumerateInstanceVersion(&api);
  if (api < VK_API_VERSION_1_1)
    throw Error("the Vulkan loader supports only Vulkan " + version_string(api) +
                "; vkfuse needs 1.1 or later");

  uint32_t n = 0;
  // The first call that reads the driver and layer manifests: the loader reports a manifest
  // it cannot parse as VK_ERROR_OUT_OF_HOST_MEMORY, which names nothing; say where to look.
  VkResult listed = vk.vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  if (listed == VK_SUCCESS) listed = vk.vkEnumerateInstanceExtensionProperties(nullptr, &n, exts.data());
  if (listed != VK_SUCCESS && listed != VK_INCOMPLETE) {
    std::string files;
    for (const char* var : {"VK_DRIVER_FILES", "VK_ICD_FILENAMES", "VK_ADD_DRIVER_FILES", "VK_LAYER_PATH"})
      if (const char* v = std::getenv(var); v && *v) files += std::string(files.empty() ? "" : ", ") + var + "=" + v;
    throw Error("the Vulkan loader cannot list instance extensions (" + std::string(result_name(listed)) +
                "): a driver or layer manifest it read is probably broken" +
                (files.empty() ? std::string(" (the system's, in /usr/share/vulkan/icd.d)") : " (" + files + ")") +
                "; VK_LOADER_DEBUG=error,warn shows which");
  }

  std::vector<const char*> enable_exts, layers;
  VkInstanceCreateFlags flags = 0;
  // MoltenVK devices are only listed when the application opts into portability.
  if (has_extension(exts, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    enable_exts.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }

  VkValidationFeatureEnableEXT sync_validation =
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  VkDebugUtilsMessengerCreateInfoEXT messenger_info{
      VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  const void* next = nullptr;
  if (validation) {
    const char* layer = "VK_LAYER_KHRONOS_validation";
    VK_CHECK(vk.vkEnumerateInstanceLayerProperties(&n, nullptr));
    std::vector<VkLayerProperties> avail(n);
    VK_CHECK(vk.vkEnumerateInstanceLayerProperties(&n, avail.data()));
    if (std::none_of(avail.begin(), avail.end(),
                     [&](const VkLayerProperties& l) { return std::strcmp(l.layerName, layer) == 0; }))
      throw Error("validation was asked for but VK_LAYER_KHRONOS_validation is not installed "
                  "(apt-get install vulkan-validationlayers)");
    layers.push_back(layer);
    VK_CHECK(vk.vkEnumerateInstanceExtensionProperties(layer, &n, nullptr));
    std::vector<VkExtensionProperties> lexts(n);
    VK_CHECK(vk.vkEnumerateInstanceExtensionProperties(layer, &n, lexts.data()));
    if (!has_extension(exts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) &&
        !has_extension(lexts, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))
      throw Error("validation needs VK_EXT_debug_utils, which this loader lacks");
    enable_exts.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    messenger_info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                                     VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger_info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                                 VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger_info.pfnUserCallback = debug_callback;
    messenger_info.pUserData = this;
    next = &messenger_info;
    if (has_extension(lexts, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
      enable_exts.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
      features.enabledValidationFeatureCount = 1;
      features.pEnabledValidationFeatures = &sync_validation;
      features.pNext = &messenger_info;
      next = &features;
    }
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkfuse";
  app.pEngineName = "vkfuse";
  app.apiVersion = VK_API_VERSION_1_1;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pNext = next;
  ci.flags = flags;
  ci.pApplicationInfo = &app;
  ci.enabledExtensionCount = static_cast<uint32_t>(enable_exts.size());
  ci.ppEnabledExtensionNames = enable_exts.data();
  ci.enabledLayerCount = static_cast<uint32_t>(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  VkResult r = vk.vkCreateInstance(&ci, nullptr, &instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    throw Error("vkCreateInstance: no Vulkan driver is installed (VK_ERROR_INCOMPATIBLE_DRIVER); "
                "for a CPU device install mesa-vulkan-drivers (lavapipe)");
  VK_CHECK(r);
  try {  // a throwing constructor runs no destructor: the instance is released here
    load_instance_functions(vk, instance);
    if (validation) {
      if (!vk.vkCreateDebugUtilsMessengerEXT) throw Error("vkCreateDebugUtilsMessengerEXT is missing");
      VK_CHECK(vk.vkCreateDebugUtilsMessengerEXT(instance, &messenger_info, nullptr, &messenger));
    }
  } catch (...) {
    release();
    throw;
  }
}

Instance::~Instance() { release(); }

void Instance::release() noexcept {
  if (messenger) vk.vkDestroyDebugUtilsMessengerEXT(instance, messenger, nullptr);
  if (instance && vk.vkDestroyInstance) vk.vkDestroyInstance(instance, nullptr);
  messenger = VK_NULL_HANDLE;
  instance = VK_NULL_HANDLE;
}

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
  uint32_t n = 0;
  VK_CHECK(vk.vkEnumeratePhysicalDevices(instance, &n, nullptr));
  std::vector<VkPhysicalDevice> pds(n);
  VK_CHECK(vk.vkEnumeratePhysicalDevices(instance, &n, pds.data()));
  pds.resize(n);
  return pds;
}

DeviceInfo Instance::describe(VkPhysicalDevice pd, uint32_t index) const {
  VkPhysicalDeviceProperties props;
  vk.vkGetPhysicalDeviceProperties(pd, &props);
  uint32_t n = 0;
  VK_CHECK(vk.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr));
  std::vector<VkExtensionProperties> exts(n);
  VK_CHECK(vk.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data()));
  bool v12 = props.apiVersion >= VK_API_VERSION_1_2;

  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceMaintenance3Properties maint3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &maint3;
  maint3.pNext = &subgroup;
  bool has_driver = v12 || has_extension(exts, VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  if (has_driver) subgroup.pNext = &driver;
  vk.vkGetPhysicalDeviceProperties2(pd, &p2);

  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceShaderFloat16Int8Features f16{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &s16;
  // Through the extension only: the instance asks for Vulkan 1.1, where the struct is not core.
  if (has_extension(exts, VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) s16.pNext = &f16;
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  const bool has_coop = has_extension(exts, VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
                        vk.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV;
  if (has_coop) {
    coop.pNext = f2.pNext;
    f2.pNext = &coop;
  }
  vk.vkGetPhysicalDeviceFeatures2(pd, &f2);

  VkPhysicalDeviceMemoryProperties mem;
  vk.vkGetPhysicalDeviceMemoryProperties(pd, &mem);

  DeviceInfo d;
  d.index = index;
  d.name = props.deviceName;
  d.type = type_name(props.deviceType);
  d.vendor_id = props.vendorID;
  d.vendor = vendor_name(props.vendorID);
  if (d.vendor == std::string("unknown") && d.name.find("llvmpipe") != std::string::npos) d.vendor = "Mesa";
  d.device_id = props.deviceID;
  d.driver_version = props.driverVersion;
  d.api_version = version_string(props.apiVersion);
  if (has_driver) {
    d.driver_name = driver.driverName;
    d.driver_info = driver.driverInfo;
  }
  Capabilities& c = d.caps;
  const VkPhysicalDeviceLimits& l = props.limits;
  c.max_workgroup_invocations = l.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    c.max_workgroup_size[i] = l.maxComputeWorkGroupSize[i];
    c.max_workgroup_count[i] = l.maxComputeWorkGroupCount[i];
  }
  c.max_shared_memory = l.maxComputeSharedMemorySize;
  c.subgroup_size = subgroup.subgroupSize;
  c.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) &&
                          (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  c.subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                       (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT) &&
                       (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  c.storage_16bit = s16.storageBuffer16BitAccess == VK_TRUE;
  c.float16_arithmetic = f16.shaderFloat16 == VK_TRUE;
  if (has_coop && coop.cooperativeMatrix) {
    uint32_t shapes = 0;
    VK_CHECK(vk.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &shapes, nullptr));
    std::vector<VkCooperativeMatrixPropertiesNV> list(shapes, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
    VK_CHECK(vk.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &shapes, list.data()));
    for (const auto& m : list)
      c.cooperative_matrix = c.cooperative_matrix ||
                             (m.MSize == 16 && m.NSize == 16 && m.KSize == 16 && m.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                              m.BType == VK_COMPONENT_TYPE_FLOAT16_NV && m.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                              m.DType == VK_COMPONENT_TYPE_FLOAT32_NV && m.scope == VK_SCOPE_SUBGROUP_NV);
    c.cooperative_matrix = c.cooperative_matrix && c.float16_arithmetic;  // fp16 tiles in shared memory
  }
  c.max_storage_buffer_range = l.maxStorageBufferRange;
  c.max_allocation_size = maint3.maxMemoryAllocationSize;
  c.min_storage_buffer_offset_alignment = static_cast<uint32_t>(l.minStorageBufferOffsetAlignment);
  c.min_texel_buffer_offset_alignment = static_cast<uint32_t>(l.minTexelBufferOffsetAlignment);
  c.max_texel_buffer_elements = l.maxTexelBufferElements;
  VkFormatProperties fp;
  vk.vkGetPhysicalDeviceFormatProperties(pd, VK_FORMAT_R32G32B32A32_SFLOAT, &fp);
  c.rgba32f_storage_texels = (fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT) != 0;
  c.rgba16_storage_texels = true;
  for (VkFormat f : {VK_FORMAT_R16G16B16A16_SFLOAT, VK_FORMAT_R16G16B16A16_UINT}) {
    vk.vkGetPhysicalDeviceFormatProperties(pd, f, &fp);
    c.rgba16_storage_texels = c.rgba16_storage_texels && (fp.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT);
  }
  c.max_push_constants_size = l.maxPushConstantsSize;
  c.timestamp_period_ns = l.timestampPeriod;
  c.timestamps = l.timestampComputeAndGraphics == VK_TRUE;
  bool uma = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
             props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const VkMemoryPropertyFlags direct = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                       VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i)
    if (uma && (mem.memoryTypes[i].propertyFlags & direct) == direct) c.device_local_host_visible = true;
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      c.device_local_heaps.push_back(mem.memoryHeaps[i].size);
  return d;
}

}  // namespace detail

std::vector<DeviceInfo> list_devices() {
  detail::Instance inst(false);
  std::vector<DeviceInfo> out;
  auto pds = inst.physical_devices();
  for (uint32_t i = 0; i < pds.size(); ++i) out.push_back(inst.describe(pds[i], i));
  return out;
}

uint32_t pick_device(const std::vector<DeviceInfo>& devices, const std::string& selector_in) {
  if (devices.empty())
    throw Error("no Vulkan device found: install a driver (for a CPU device: mesa-vulkan-drivers)");
  std::string sel = selector_in;
  if (sel.empty())
    if (const char* env = std::getenv("VKFUSE_DEVICE")) sel = env;
  auto listing = [&] {
    std::string s;
    for (const auto& d : devices) s += " [" + std::to_string(d.index) + "] " + d.name + ";";
    return s;
  };
  if (sel.empty()) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < devices.size(); ++i)
      if (detail::type_rank(devices[i].type) < detail::type_rank(devices[best].type)) best = i;
    return best;
  }
  if (std::all_of(sel.begin(), sel.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    unsigned long idx = std::strtoul(sel.c_str(), nullptr, 10);
    if (sel.size() > 9 || idx >= devices.size())
      throw Error("device index " + sel + " is out of range; devices:" + listing());
    return static_cast<uint32_t>(idx);
  }
  for (const auto& d : devices)
    if (detail::lower(d.name).find(detail::lower(sel)) != std::string::npos) return d.index;
  throw Error("no device matches '" + sel + "'; devices:" + listing());
}

}  // namespace vkfuse
