#pragma once
#include <cstddef>
#include <cstdint>

namespace vkfuse::detail {
struct SpirvBlob {
  const char* name;
  const uint32_t* words;
  size_t count;
};
// The SPIR-V embedded at build time (cmake/Shaders.cmake), or null.
const SpirvBlob* find_spirv(const char* name);
}  // namespace vkfuse::detail
