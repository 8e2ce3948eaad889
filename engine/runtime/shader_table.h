#pragma once
// The embedded shader variants (generated from shaders/*.variants by cmake/Shaders.cmake).
#include <cstddef>
#include <cstdint>

#include "shader_variants.h"

namespace vkfuse::detail {
struct VariantInfo {
  const char* name;
  const uint32_t* words;  // the SPIR-V
  size_t count;           // of words
  uint32_t bindings;      // storage (or texel) buffers at bindings 0..bindings-1
  uint32_t texel_bindings;  // bit i: binding i is a storage texel buffer
  uint32_t spec_count;    // specialization constants, constant_id 0..spec_count-1
  uint32_t push_bytes;    // sizeof the contract's push-constant struct
};
const VariantInfo& variant_info(shader::Variant v);
size_t variant_count();
}  // namespace vkfuse::detail
