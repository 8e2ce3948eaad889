#pragma once
// IEEE 754 binary16 and bfloat16 from and to float32, bit-exact: subnormals, infinities and
// NaN included. Narrowing rounds to nearest, ties to even, as PyTorch's .half()/.bfloat16().
#include <cstdint>

#include "vkfuse/tensor.hpp"

namespace vkfuse {

float half_to_float(uint16_t h);
float bf16_to_float(uint16_t b);
uint16_t float_to_half(float f);  // overflow gives +-inf; NaN stays a (quiet) NaN
uint16_t float_to_bf16(float f);  // NaN stays a (quiet) NaN

// By dtype, F16 or BF16 (an Error for any other): the 16-bit word, and the value it holds.
uint16_t float_to_16bit(float f, DType t);
float round_to_16bit(float f, DType t);

}  // namespace vkfuse
