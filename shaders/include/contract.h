// The bridge that lets one header be both GLSL and C++. Each <op>_contract.h is included by
// its shader (shaders/<op>.comp) and by its dispatch (engine/ops/<op>.cpp), so the push
// constants, flag bits and op codes the two sides share are written once.
//   CONTRACT_UINT / CONTRACT_FLOAT  a 32-bit push-constant member
//   CONTRACT_CONST(NAME, value)     a uint constant (flag bit, op code)
//   CONTRACT_BEGIN / CONTRACT_END   namespace vkfuse::shader in C++, nothing in GLSL
// Push constants hold 32-bit scalars and arrays of them only: their std430 layout in GLSL
// is then the C++ struct's, 4 bytes a member, and CONTRACT_PUSH_CHECK asserts the size.
#ifndef VKFUSE_CONTRACT_H
#define VKFUSE_CONTRACT_H

#ifdef __cplusplus
#include <cstdint>
#define CONTRACT_UINT uint32_t
#define CONTRACT_FLOAT float
#define CONTRACT_CONST(NAME, value) constexpr uint32_t NAME = value;
#define CONTRACT_BEGIN namespace vkfuse::shader {
#define CONTRACT_END }
// 128 bytes is the maxPushConstantsSize every Vulkan device supports.
#define CONTRACT_PUSH_CHECK(T)                                                         \
  static_assert(sizeof(T) % 4 == 0 && alignof(T) == 4, #T ": 32-bit members only");  \
  static_assert(sizeof(T) <= 128, #T ": over the 128 bytes of push constants every device has");
#else
#define CONTRACT_UINT uint
#define CONTRACT_FLOAT float
#define CONTRACT_CONST(NAME, value) const uint NAME = value;
#define CONTRACT_BEGIN
#define CONTRACT_END
#define CONTRACT_PUSH_CHECK(T)
#endif

#endif
