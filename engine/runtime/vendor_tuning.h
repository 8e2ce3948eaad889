#pragma once
// The per-vendor tuning table (vendor_tuning.cpp) and the VKFUSE_TUNING override.
#include <cstddef>
#include <cstdint>
#include <string>

#include "vkfuse/tuning.hpp"

namespace vkfuse::detail {

struct VendorRow {
  uint32_t vendor_id;         // PCI vendor id (0x10DE NVIDIA, ...); ignored for cpu rows
  const char* name_contains;  // "" matches every device of the vendor
  const char* label;
  const char* quirks;         // what the row encodes, in one line
  Tuning::Matmul matmul;      // tiled matmul tile
  uint32_t rows_wg;           // softmax, layer norm, elementwise workgroups
  uint32_t attention_wg, attention_bc;  // tiled attention workgroup and keys per tile
  bool subgroups;             // subgroup reductions where the device reports them
  bool fixed_subgroup;        // every subgroup full and of the reported size (Tuning::Attention::subgroup_rows)
  bool cpu = false;           // CPU driver: the texel kernels and per-row attention (tuning.cpp)
};

// The first row for this device, or null (the generic choice for its limits).
const VendorRow* vendor_row(const DeviceInfo& device);
const VendorRow* vendor_rows(size_t& count);
void apply_row(const VendorRow& r, Tuning& t);
// "field=value,field=value" (matmul.tm=8,attention.tiled=1,...); throws Error naming a bad item.
void apply_overrides(Tuning& t, const std::string& spec);

}  // namespace vkfuse::detail
