#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace vkfuse {

// The limits and features the kernels depend on, read once per device. In portable mode
// they are capped to phone-class values so the phone code paths run on any machine.
struct Capabilities {
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {0, 0, 0};
  uint32_t max_workgroup_count[3] = {0, 0, 0};
  uint32_t max_shared_memory = 0;          // bytes
  uint32_t subgroup_size = 0;
  bool subgroup_arithmetic = false;        // subgroupAdd/Max usable in compute shaders
  bool subgroup_shuffle = false;           // subgroupShuffle usable in compute shaders
  bool storage_16bit = false;              // storageBuffer16BitAccess
  bool float16_arithmetic = false;         // shaderFloat16
  // VK_NV_cooperative_matrix with a 16x16x16 fp16 x fp16 + fp32 shape at subgroup scope
  // (Tuning::Matmul::coopmat).
  bool cooperative_matrix = false;
  uint64_t max_storage_buffer_range = 0;   // bytes one descriptor may cover
  uint64_t max_allocation_size = 0;        // bytes
  uint32_t min_storage_buffer_offset_alignment = 0;
  uint32_t min_texel_buffer_offset_alignment = 0;
  uint64_t max_texel_buffer_elements = 0;  // texels one texel buffer view may cover
  bool rgba32f_storage_texels = false;     // RGBA32F storage texel buffers (imageLoad of vec4)
  bool rgba16_storage_texels = false;      // RGBA16F and RGBA16UI ones (16-bit weights as texels)
  uint32_t max_push_constants_size = 0;
  bool device_local_host_visible = false;  // UMA: kernels read host-written memory directly
  bool timestamps = false;                 // compute queue supports timestamp queries
  float timestamp_period_ns = 0.f;
  std::vector<uint64_t> device_local_heaps;  // bytes per device-local heap
  bool portable = false;                     // capped to phone-class values
};

// A Vulkan device as `vkfuse devices` shows it.
struct DeviceInfo {
  uint32_t index = 0;
  std::string name;
  std::string type;        // discrete, integrated, virtual, cpu, other
  uint32_t vendor_id = 0;
  std::string vendor;      // NVIDIA, AMD, Intel, Apple, ARM, Qualcomm, Imagination, Mesa, ...
  uint32_t device_id = 0;
  std::string driver_name;
  std::string driver_info;
  uint32_t driver_version = 0;
  std::string api_version; // "1.3.230"
  Capabilities caps;       // uncapped
};

// Every Vulkan device on this machine, in the loader's order. Throws Error when no Vulkan
// loader or driver is present.
std::vector<DeviceInfo> list_devices();

// The index list_devices() would pick for `selector` (an index, a part of the name, or
// empty for VKFUSE_DEVICE / the best device: discrete > integrated > virtual > cpu).
uint32_t pick_device(const std::vector<DeviceInfo>& devices, const std::string& selector);

}  // namespace vkfuse
