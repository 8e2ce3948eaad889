// Conversions of named tensor bytes: half and bfloat16 widened, I32 ids widened, BOOL checked.
#include "io/convert.h"

#include <algorithm>
#include <cstring>

#include "vkfuse/error.hpp"

namespace vkfuse::detail {

std::optional<uint64_t> byte_count(const Shape& shape, DType dtype) {
  for (int64_t d : shape)
    if (d < 0) return std::nullopt;
  if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, uint64_t(d), &n)) return std::nullopt;
  return n;
}

namespace {
size_t count(const TensorBytes& t) { return static_cast<size_t>(shape_numel(t.shape)); }
const uint8_t* bytes(const TensorBytes& t) { return static_cast<const uint8_t*>(t.data); }
}  // namespace

std::vector<float> to_f32(const TensorBytes& t, const std::string& where) {
  const size_t n = count(t);
  std::vector<float> r(n);
  if (t.dtype == DType::F32) {
    if (n) std::memcpy(r.data(), t.data, n * 4);
  } else if (t.dtype == DType::F16 || t.dtype == DType::BF16) {
    const auto convert = t.dtype == DType::F16 ? half_to_float : bf16_to_float;
    for (size_t i = 0; i < n; ++i) {
      uint16_t h;
      std::memcpy(&h, bytes(t) + 2 * i, 2);
      r[i] = convert(h);
    }
  } else {
    throw Error(where + ": is " + dtype_name(t.dtype) + ", not F32, F16 or BF16");
  }
  return r;
}

std::vector<int64_t> to_i64(const TensorBytes& t, const std::string& where) {
  const size_t n = count(t);
  std::vector<int64_t> r(n);
  if (t.dtype == DType::I64) {
    if (n) std::memcpy(r.data(), t.data, n * 8);
  } else if (t.dtype == DType::I32) {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, bytes(t) + 4 * i, 4);
      r[i] = v;
    }
  } else {
    throw Error(where + ": is " + dtype_name(t.dtype) + ", not I64 or I32");
  }
  return r;
}

std::vector<uint8_t> to_mask(const TensorBytes& t, const std::string& where) {
  if (t.dtype != DType::Bool && t.dtype != DType::U8)
    throw Error(where + ": is " + dtype_name(t.dtype) + ", not BOOL or U8");
  std::vector<uint8_t> r(bytes(t), bytes(t) + count(t));
  if (t.dtype == DType::Bool) {
    // A byte other than 0 or 1 is no bool PyTorch writes: corruption, not a mask.
    auto bad = std::find_if(r.begin(), r.end(), [](uint8_t b) { return b > 1; });
    if (bad != r.end())
      throw Error(where + ": BOOL element " + std::to_string(bad - r.begin()) + " is " + std::to_string(*bad) +
                  ", not 0 or 1");
  }
  return r;
}

}  // namespace vkfuse::detail
