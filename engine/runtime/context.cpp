// Context: the chosen device, its queue, memory, pipelines and tuning.
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "context_impl.h"
#include "vendor_tuning.h"
#include "vkfuse/error.hpp"

namespace vkfuse {
namespace detail {

namespace {
bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

// Phone-class limits (Mali, Adreno, PowerVR): what the portable code paths must live with.
Capabilities portable_caps(Capabilities c) {
  c.max_workgroup_invocations = std::min<uint32_t>(c.max_workgroup_invocations, 128);
  for (auto& s : c.max_workgroup_size) s = std::min<uint32_t>(s, 128);
  c.max_workgroup_size[2] = std::min<uint32_t>(c.max_workgroup_size[2], 64);
  c.max_shared_memory = std::min<uint32_t>(c.max_shared_memory, 16384);
  c.subgroup_arithmetic = false;
  c.subgroup_shuffle = false;
  c.storage_16bit = false;
  c.float16_arithmetic = false;
  c.cooperative_matrix = false;
  c.max_storage_buffer_range = std::min<uint64_t>(c.max_storage_buffer_range, 128ull << 20);
  c.max_push_constants_size = std::min<uint32_t>(c.max_push_constants_size, 128);
  c.portable = true;
  return c;
}
}  // namespace

ContextImpl::ContextImpl(const Options& o) : options(o) {
  options.validation = options.validation || env_flag("VKFUSE_VALIDATION");
  options.portable = options.portable || env_flag("VKFUSE_PORTABLE");
  inst = std::make_unique<Instance>(options.validation, options.on_message);
  auto pds = inst->physical_devices();
  std::vector<DeviceInfo> infos;
  for (uint32_t i = 0; i < pds.size(); ++i) infos.push_back(inst->describe(pds[i], i));
  uint32_t idx = pick_device(infos, options.device);
  physical = pds[idx];
  info = infos[idx];
  if (info.api_version.rfind("1.0.", 0) == 0)
    throw Error("device '" + info.name + "' supports only Vulkan " + info.api_version +
                "; vkfuse needs 1.1");
  caps = options.portable ? portable_caps(info.caps) : info.caps;
  VulkanFunctions& f = inst->vk;

  uint32_t nq = 0;
  f.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  f.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, qf.data());
  int family = -1;
  // A compute-only family, where there is one, runs beside graphics work.
  for (uint32_t i = 0; i < nq; ++i)
    if ((qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(qf[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      family = static_cast<int>(i);
      break;
    }
  for (uint32_t i = 0; i < nq && family < 0; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) family = static_cast<int>(i);
  if (family < 0) throw Error("device '" + info.name + "' has no compute queue");
  queue_family = static_cast<uint32_t>(family);
  timestamp_valid_bits = qf[queue_family].timestampValidBits;
  caps.timestamps = timestamp_valid_bits > 0;  // of the queue vkfuse submits to

  uint32_t n = 0;
  VK_CHECK(f.vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, nullptr));
  std::vector<VkExtensionProperties> exts(n);
  VK_CHECK(f.vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, exts.data()));
  std::vector<const char*> dev_exts;
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, "VK_KHR_portability_subset") == 0)
      dev_exts.push_back("VK_KHR_portability_subset");  // required where offered (MoltenVK)

  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  s16.storageBuffer16BitAccess = caps.storage_16bit ? VK_TRUE : VK_FALSE;
  // fp16 arithmetic (the fp16_math tunings) through VK_KHR_shader_float16_int8, which the
  // capability implies (device.cpp): the instance asks for Vulkan 1.1, where it is not core.
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  f16.shaderFloat16 = VK_TRUE;
  if (caps.float16_arithmetic) {
    s16.pNext = &f16;
    dev_exts.push_back(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  }
  // Cooperative matrices (Tuning::Matmul::coopmat; the capability implies fp16, device.cpp).
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  coop.cooperativeMatrix = VK_TRUE;
  if (caps.cooperative_matrix) {
    f16.pNext = &coop;
    dev_exts.push_back(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME);
  }
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &s16;
  float prio = 1.f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &f2;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = static_cast<uint32_t>(dev_exts.size());
  dci.ppEnabledExtensionNames = dev_exts.data();
  VK_CHECK(f.vkCreateDevice(physical, &dci, nullptr, &device));
  load_device_functions(f, device);
  vk = &f;
  // A constructor that throws runs no destructor: whatever was made from here on is released
  // by hand before the error goes on.
  try {
    finish_setup();
  } catch (...) {
    release();
    throw;
  }
}

void ContextImpl::finish_setup() {
  VulkanFunctions& f = inst->vk;
  f.vkGetDeviceQueue(device, queue_family, 0, &queue);

  tuning = choose_tuning(info, caps);
  if (const char* spec = std::getenv("VKFUSE_TUNING")) {  // tuning runs: any field, checked
    detail::apply_overrides(tuning, spec);
    check_tuning(tuning, caps);
  }
  VkPhysicalDeviceProperties props;
  f.vkGetPhysicalDeviceProperties(physical, &props);
  // 16 bytes at least: kernels may read any allocation as vec4 texels from its start.
  VkDeviceSize align = std::max<VkDeviceSize>({caps.min_storage_buffer_offset_alignment,
                                               caps.min_texel_buffer_offset_alignment, 16});
  allocator = std::make_unique<Allocator>(f, physical, device, align, caps.max_allocation_size);
  direct_memory = caps.device_local_host_visible && !options.force_staging &&
                  allocator->has_kind(MemoryKind::Direct);
  pipelines = std::make_unique<PipelineCache>(f, device, info, props, options.pipeline_cache_dir,
                                              [this](const std::string& m) { warn(m); });

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = queue_family;
  VK_CHECK(f.vkCreateCommandPool(device, &pci, nullptr, &transfer_pool));
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VK_CHECK(f.vkCreateFence(device, &fci, nullptr, &transfer_fence));
}

ContextImpl::~ContextImpl() {
  if (!device) return;
  vk->vkDeviceWaitIdle(device);
  try {
    if (pipelines) pipelines->save();
  } catch (const std::exception&) {
    // A cache that cannot be written only costs the next start some time.
  }
  release();
}

void ContextImpl::release() noexcept {
  if (!device) return;
  pipelines.reset();
  allocator.reset();
  if (transfer_fence) vk->vkDestroyFence(device, transfer_fence, nullptr);
  if (transfer_pool) vk->vkDestroyCommandPool(device, transfer_pool, nullptr);
  transfer_fence = VK_NULL_HANDLE;
  transfer_pool = VK_NULL_HANDLE;
  vk->vkDestroyDevice(device, nullptr);
  device = VK_NULL_HANDLE;
}

void ContextImpl::warn(const std::string& message) const {
  if (options.on_message)
    options.on_message(MessageSeverity::Warning, message);
  else
    std::fprintf(stderr, "vkfuse: warning: %s\n", message.c_str());
}

void ContextImpl::submit(const std::vector<VkCommandBuffer>& cbs, VkFence fence) {
  std::lock_guard<std::mutex> lock(queue_mutex);
  for (size_t i = 0; i < cbs.size(); ++i) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cbs[i];
    VK_CHECK(vk->vkQueueSubmit(queue, 1, &si, i + 1 == cbs.size() ? fence : VK_NULL_HANDLE));
  }
}

void ContextImpl::one_shot_impl(const std::function<void(VkCommandBuffer)>& fn) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = transfer_pool;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  std::lock_guard<std::mutex> lock(queue_mutex);  // guards the pool and the fence too
  VK_CHECK(vk->vkAllocateCommandBuffers(device, &ai, &cb));
  struct Free {
    ContextImpl* c;
    VkCommandBuffer cb;
    ~Free() { c->vk->vkFreeCommandBuffers(c->device, c->transfer_pool, 1, &cb); }
  } guard{this, cb};
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  VK_CHECK(vk->vkBeginCommandBuffer(cb, &bi));
  full_barrier(*vk, cb, false);
  fn(cb);
  full_barrier(*vk, cb, true);
  VK_CHECK(vk->vkEndCommandBuffer(cb));
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  VK_CHECK(vk->vkQueueSubmit(queue, 1, &si, transfer_fence));
  VK_CHECK(vk->vkWaitForFences(device, 1, &transfer_fence, VK_TRUE, UINT64_MAX));
  VK_CHECK(vk->vkResetFences(device, 1, &transfer_fence));
}

void full_barrier(const VulkanFunctions& vk, VkCommandBuffer cb, bool to_host) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                     VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  VkPipelineStageFlags src = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  VkPipelineStageFlags dst = src;
  if (to_host) {
    mb.dstAccessMask |= VK_ACCESS_HOST_READ_BIT;
    dst |= VK_PIPELINE_STAGE_HOST_BIT;
  }
  vk.vkCmdPipelineBarrier(cb, src, dst, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

}  // namespace detail

Context::Context(const Options& options) : impl_(std::make_shared<detail::ContextImpl>(options)) {}
Context::~Context() = default;
const DeviceInfo& Context::device() const { return impl_->info; }
const Capabilities& Context::caps() const { return impl_->caps; }
Tuning& Context::tuning() { return impl_->tuning; }
const Tuning& Context::tuning() const { return impl_->tuning; }
DType Context::weight_dtype() const { return impl_->weight_dtype; }
void Context::set_weight_dtype(DType d) {
  if (d != DType::F32 && d != DType::F16 && d != DType::BF16)
    throw Error(std::string("weight dtype ") + dtype_name(d) + ": weights are stored as F32, F16 or BF16");
  impl_->weight_dtype = d;
}
uint64_t Context::memory_in_use() const { return impl_->allocator->in_use(); }
uint64_t Context::memory_reserved() const { return impl_->allocator->reserved(); }
uint64_t Context::memory_peak() const { return impl_->allocator->peak_in_use(); }
void Context::reset_memory_peak() { impl_->allocator->reset_peak(); }
void Context::save_pipeline_cache() { impl_->pipelines->save(); }

}  // namespace vkfuse
