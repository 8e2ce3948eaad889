// binary16 / bfloat16 <-> float32 by bit manipulation, so the result does not depend on the
// compiler's or the CPU's half support.
#include "vkfuse/half.hpp"

#include <cstring>

#include "vkfuse/error.hpp"

namespace vkfuse {

namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return float_of(sign | 0x7f800000u | (mant << 13));  // inf, NaN payload kept
  if (exp != 0) return float_of(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return float_of(sign);
  // A half subnormal is a float normal: shift the leading one into the implicit bit.
  int e = 113;
  while (!(mant & 0x400u)) {
    mant <<= 1;
    --e;
  }
  return float_of(sign | (uint32_t(e) << 23) | ((mant & 0x3ffu) << 13));
}

float bf16_to_float(uint16_t b) { return float_of(uint32_t(b) << 16); }

uint16_t float_to_half(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds past 65504: inf
  if (abs < 0x38800000u) {
    // Below the smallest half normal (2^-14): the result is mant * 2^-24; round it by adding
    // the value to 0.5 in float, whose ulp is exactly 2^-24, so the FPU does ties-to-even.
    const float r = float_of(abs) + 0.5f;
    return uint16_t(sign | (bits_of(r) - bits_of(0.5f)));
  }
  const uint32_t mant_odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xfffu + mant_odd - (112u << 23);
  return uint16_t(sign | (rounded >> 13));
}

uint16_t float_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40u);
  return uint16_t((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

uint16_t float_to_16bit(float f, DType t) {
  if (t == DType::F16) return float_to_half(f);
  if (t == DType::BF16) return float_to_bf16(f);
  throw Error(std::string("float_to_16bit: ") + dtype_name(t) + " is not F16 or BF16");
}

float round_to_16bit(float f, DType t) {
  const uint16_t w = float_to_16bit(f, t);
  return t == DType::F16 ? half_to_float(w) : bf16_to_float(w);
}

}  // namespace vkfuse
