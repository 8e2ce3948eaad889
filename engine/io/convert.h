#pragma once
// Named tensor bytes (a file's mapping or the caller's memory) copied out with conversion,
// the same for model files and for inputs. Each is an Error naming `where` (the file or the
// input and the tensor) for a dtype it does not take.
#include <optional>
#include <string>
#include <vector>

#include "vkfuse/safetensors.hpp"

namespace vkfuse::detail {

// numel * dtype_size, or nullopt for a negative dimension or past 2^64 (a zero dimension
// makes it 0 before any product).
std::optional<uint64_t> byte_count(const Shape& shape, DType dtype);

std::vector<float> to_f32(const TensorBytes& t, const std::string& where);     // F32, F16, BF16
std::vector<int64_t> to_i64(const TensorBytes& t, const std::string& where);   // I64, I32
std::vector<uint8_t> to_mask(const TensorBytes& t, const std::string& where);  // BOOL (0/1 only), U8

}  // namespace vkfuse::detail
