// vkfuse devices [--json]: every Vulkan device, its limits and features, and the pick.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "vkfuse/version.h"

#include "commands.hpp"
#include "vkfuse/device.hpp"

namespace {

nlohmann::json caps_json(const vkfuse::Capabilities& c) {
  return {
      {"max_workgroup_invocations", c.max_workgroup_invocations},
      {"max_workgroup_size", {c.max_workgroup_size[0], c.max_workgroup_size[1], c.max_workgroup_size[2]}},
      {"max_workgroup_count", {c.max_workgroup_count[0], c.max_workgroup_count[1], c.max_workgroup_count[2]}},
      {"max_shared_memory_bytes", c.max_shared_memory},
      {"subgroup_size", c.subgroup_size},
      {"subgroup_arithmetic", c.subgroup_arithmetic},
      {"storage_buffer_16bit", c.storage_16bit},
      {"shader_float16", c.float16_arithmetic},
      {"cooperative_matrix_16x16x16_f16", c.cooperative_matrix},
      {"rgba16_storage_texel_buffers", c.rgba16_storage_texels},
      {"max_storage_buffer_range_bytes", c.max_storage_buffer_range},
      {"min_storage_buffer_offset_alignment", c.min_storage_buffer_offset_alignment},
      {"max_push_constants_bytes", c.max_push_constants_size},
      {"device_local_host_visible", c.device_local_host_visible},
      {"rgba32f_storage_texel_buffers", c.rgba32f_storage_texels},
      {"max_texel_buffer_elements", c.max_texel_buffer_elements},
      {"timestamps", c.timestamps},
      {"timestamp_period_ns", c.timestamp_period_ns},
      {"device_local_heap_bytes", c.device_local_heaps},
  };
}

void run(bool json) {
  auto devices = vkfuse::list_devices();
  uint32_t pick = vkfuse::pick_device(devices, "");
  if (json) {
    nlohmann::json out = {{"vkfuse", {{"version", VKFUSE_VERSION_STRING}, {"commit", VKFUSE_COMMIT_STRING}}},
                          {"selected", pick},
                          {"devices", nlohmann::json::array()}};
    for (const auto& d : devices)
      out["devices"].push_back({{"index", d.index},
                                {"name", d.name},
                                {"type", d.type},
                                {"vendor", d.vendor},
                                {"vendor_id", d.vendor_id},
                                {"device_id", d.device_id},
                                {"driver_name", d.driver_name},
                                {"driver_info", d.driver_info},
                                {"driver_version", d.driver_version},
                                {"api_version", d.api_version},
                                {"selected", d.index == pick},
                                {"limits", caps_json(d.caps)}});
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  for (const auto& d : devices) {
    const auto& c = d.caps;
    std::printf("%s[%u] %s (%s, %s) Vulkan %s, driver %s %s\n", d.index == pick ? "* " : "  ", d.index,
                d.name.c_str(), d.type.c_str(), d.vendor.c_str(), d.api_version.c_str(),
                d.driver_name.c_str(), d.driver_info.c_str());
    std::printf("      workgroup: %u invocations, size %u x %u x %u; shared memory %u KiB\n",
                c.max_workgroup_invocations, c.max_workgroup_size[0], c.max_workgroup_size[1],
                c.max_workgroup_size[2], c.max_shared_memory / 1024);
    std::printf("      subgroup size %u, arithmetic %s; 16-bit storage %s; fp16 %s; cooperative matrices %s\n",
                c.subgroup_size, c.subgroup_arithmetic ? "yes" : "no", c.storage_16bit ? "yes" : "no",
                c.float16_arithmetic ? "yes" : "no", c.cooperative_matrix ? "yes" : "no");
    std::printf("      storage buffer range %llu MiB; host-visible device memory %s; timestamps %s\n",
                static_cast<unsigned long long>(c.max_storage_buffer_range >> 20),
                c.device_local_host_visible ? "yes" : "no", c.timestamps ? "yes" : "no");
  }
  std::printf("vkfuse would use device %u (override with --device or VKFUSE_DEVICE)\n", pick);
}

}  // namespace

void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List Vulkan devices, their limits and features");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([json] { run(*json); });
}
