// The per-vendor tuning table: one row per vendor (and architecture where it matters), the
// quirk it encodes in a line. choose_tuning() starts from the generic GPU choice for the
// device's limits, applies the first matching row, and keeps the generic choice where a row
// does not fit the device (check_tuning). Only the lavapipe row is measured (docs/TUNING.md);
// the GPU rows are the peers' published defaults and the vendors' guides, marked unmeasured
// until a device check times them. VKFUSE_TUNING overrides any field for tuning runs.
#include "vendor_tuning.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "vkfuse/device.hpp"
#include "vkfuse/error.hpp"

namespace vkfuse::detail {

namespace {

const VendorRow kRows[] = {
    {0, "", "CPU drivers (lavapipe)",
     "loops end after 65,535 back-edges; storage and shared loads are per-lane loops, texel loads vector gathers: texel kernels, no shared memory",
     {8, 4, 8, 8, 4}, 16, 128, 16, true, true, true},
    {0x10DE, "", "NVIDIA", "warps of 32, subgroup ops at full speed; 48 KiB shared per workgroup by default",
     {16, 16, 4, 4, 16}, 256, 128, 16, true, true},
    {0x1002, "", "AMD", "wave64 on GCN, wave32 or 64 on RDNA (subgroup size varies per pipeline: no kernel assumes one); 64 KiB LDS",
     {16, 16, 4, 4, 16}, 256, 256, 16, true, false},
    {0x8086, "", "Intel", "SIMD8/16/32 picked by the compiler per shader, so the subgroup size is not fixed; 64 KiB shared per subslice",
     {16, 8, 4, 4, 16}, 128, 128, 16, true, false},
    {0x106B, "", "Apple (MoltenVK)", "simdgroups of 32; 32 KiB threadgroup memory; Metal has no storage texel buffer gain to use",
     {16, 8, 4, 4, 16}, 128, 128, 16, true, false},
    {0x5143, "", "Qualcomm Adreno", "waves of 64 or 128; subgroup arithmetic miscompiled by older drivers (ncnn turns it off before Adreno 6xx): shared-memory reductions",
     {16, 8, 4, 4, 16}, 128, 64, 8, false, false},
    {0x13B5, "", "ARM Mali", "Bifrost/Valhall: subgroups of 4-16 and shared memory in system memory, so small workgroups and tiles",
     {8, 8, 4, 4, 8}, 64, 64, 8, true, false},
    {0x1010, "", "Imagination PowerVR", "subgroup ops reported but slow on older drivers: shared-memory reductions; 16 KiB shared",
     {8, 8, 4, 4, 8}, 64, 64, 8, false, false},
};

bool apply_field(Tuning& t, const std::string& key, uint32_t v) {
  struct Field {
    const char* name;
    uint32_t* u;
    bool* b;
  };
  const Field fields[] = {
      {"matmul.wg_x", &t.matmul.wg_x, nullptr}, {"matmul.wg_y", &t.matmul.wg_y, nullptr},
      {"matmul.tm", &t.matmul.tm, nullptr}, {"matmul.tn", &t.matmul.tn, nullptr},
      {"matmul.bk", &t.matmul.bk, nullptr}, {"matmul.texels", nullptr, &t.matmul.texels},
      {"matmul.shared_a", nullptr, &t.matmul.shared_a}, {"matmul.pad_rows", &t.matmul.pad_rows, nullptr},
      {"matmul.fp16_math", nullptr, &t.matmul.fp16_math}, {"matmul.coopmat", nullptr, &t.matmul.coopmat},
      {"softmax.wg", &t.softmax.wg, nullptr}, {"softmax.tpr", &t.softmax.tpr, nullptr},
      {"softmax.texels", nullptr, &t.softmax.texels}, {"layer_norm.wg", &t.layer_norm.wg, nullptr},
      {"layer_norm.tpr", &t.layer_norm.tpr, nullptr}, {"layer_norm.texels", nullptr, &t.layer_norm.texels},
      {"elementwise.wg", &t.elementwise_wg, nullptr}, {"attention.wg", &t.attention.wg, nullptr},
      {"attention.texels", nullptr, &t.attention.texels}, {"attention.tiled", nullptr, &t.attention.tiled},
      {"attention.tiled_wg", &t.attention.tiled_wg, nullptr}, {"attention.bc", &t.attention.bc, nullptr},
      {"attention.lanes", &t.attention.lanes, nullptr}, {"attention.split_below", &t.attention.split_below, nullptr},
      {"attention.subgroup_rows", nullptr, &t.attention.subgroup_rows},
      {"attention.fp16_math", nullptr, &t.attention.fp16_math},
      {"conv.wg_x", &t.conv.wg_x, nullptr}, {"conv.wg_y", &t.conv.wg_y, nullptr},
      {"conv.tm", &t.conv.tm, nullptr}, {"conv.tn", &t.conv.tn, nullptr}, {"conv.bk", &t.conv.bk, nullptr},
      {"use_subgroups", nullptr, &t.use_subgroups},
  };
  for (const auto& f : fields)
    if (key == f.name) {
      if (f.u) *f.u = v;
      else *f.b = v != 0;
      return true;
    }
  return false;
}

}  // namespace

const VendorRow* vendor_row(const DeviceInfo& device) {
  for (const auto& r : kRows) {
    if (r.cpu ? device.type == "cpu" : r.vendor_id == device.vendor_id && device.type != "cpu")
      if (device.name.find(r.name_contains) != std::string::npos) return &r;
  }
  return nullptr;
}

const VendorRow* vendor_rows(size_t& count) {
  count = sizeof(kRows) / sizeof(kRows[0]);
  return kRows;
}

void apply_row(const VendorRow& r, Tuning& t) {
  t.matmul = r.matmul;
  t.conv = {r.matmul.wg_x, r.matmul.wg_y, std::min<uint32_t>(r.matmul.tm, 8), r.matmul.tn, r.matmul.bk};
  t.softmax = {r.rows_wg, r.rows_wg};
  t.layer_norm = {r.rows_wg, r.rows_wg};
  t.elementwise_wg = r.rows_wg;
  t.attention.tiled = true;
  t.attention.tiled_wg = r.attention_wg;
  t.attention.bc = r.attention_bc;
  if (!r.subgroups) t.use_subgroups = false;
  t.attention.subgroup_rows = r.fixed_subgroup;
}

void apply_overrides(Tuning& t, const std::string& spec) {
  size_t at = 0;
  while (at < spec.size()) {
    size_t end = spec.find(',', at);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(at, end - at);
    at = end + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string key = item.substr(0, eq), val = eq == std::string::npos ? "" : item.substr(eq + 1);
    char* stop = nullptr;
    const unsigned long v = std::strtoul(val.c_str(), &stop, 10);
    if (val.empty() || *stop || v > 1u << 20)
      throw Error("VKFUSE_TUNING: '" + item + "' should be field=number (0..1048576)");
    if (!apply_field(t, key, static_cast<uint32_t>(v)))
      throw Error("VKFUSE_TUNING: no tuning field '" + key + "' (fields: matmul.tm, attention.bc, ...: docs/TUNING.md lists them)");
  }
}

}  // namespace vkfuse::detail
