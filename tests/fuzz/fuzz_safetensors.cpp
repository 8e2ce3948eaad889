// libFuzzer target: any bytes as a safetensors file. parse() either refuses them with one
// vkfuse::Error or hands out tensors whose every byte lies inside the input.
#include <cstddef>
#include <cstdint>

#include "vkfuse/error.hpp"
#include "vkfuse/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = vkfuse::SafetensorsFile::parse("fuzz", data, size);
    for (const auto& name : f.names()) {
      const auto& t = f.tensor(name);
      if (t.bytes > (1u << 16)) continue;
      try {
        if (t.dtype == vkfuse::DType::I64 || t.dtype == vkfuse::DType::I32) f.to_i64(name);
        else if (t.dtype == vkfuse::DType::Bool || t.dtype == vkfuse::DType::U8) f.to_mask(name);
        else f.to_f32(name);
      } catch (const vkfuse::Error&) {  // a BOOL byte that is not 0 or 1
      }
    }
  } catch (const vkfuse::Error&) {
  }
  return 0;
}
