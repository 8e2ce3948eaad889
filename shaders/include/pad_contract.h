// shaders/pad.comp <-> engine/ops/pad.cpp (ops::PadMode's values: static_assert there).
#ifndef VKFUSE_PAD_CONTRACT_H
#define VKFUSE_PAD_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

CONTRACT_CONST(PAD_CONSTANT, 0u)
CONTRACT_CONST(PAD_REFLECT, 1u)
CONTRACT_CONST(PAD_EDGE, 2u)
CONTRACT_CONST(PAD_WRAP, 3u)

#define PAD_MAX_RANK 6

#define PAD_PARAMS                                                           \
  CONTRACT_UINT n, off_x, off_y, mode, value;  /* value: the fill's 32 bits */ \
  CONTRACT_UINT in_size[PAD_MAX_RANK], out_size[PAD_MAX_RANK];               \
  CONTRACT_UINT stride[PAD_MAX_RANK];          /* x's, int bits */           \
  CONTRACT_UINT before[PAD_MAX_RANK];          /* int bits: negative crops */

#ifdef __cplusplus
struct PadParams {
  PAD_PARAMS
};
CONTRACT_PUSH_CHECK(PadParams)
#endif

CONTRACT_END

#endif
