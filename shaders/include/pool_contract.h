// shaders/pool.comp <-> engine/ops/pool.cpp.
#ifndef VKFUSE_POOL_CONTRACT_H
#define VKFUSE_POOL_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

CONTRACT_CONST(POOL_MAX, 0u)
CONTRACT_CONST(POOL_AVERAGE, 1u)
CONTRACT_CONST(POOL_AVERAGE_INCLUDE_PAD, 2u)  // divide by the window inside the padded input

// Three spatial axes, outermost first (leading ones of size 1 for 1-D and 2-D pooling).
#define POOL_PARAMS                                                              \
  CONTRACT_UINT n, planes;                 /* output elements; N·C */            \
  CONTRACT_UINT off_x, off_y, kind;                                              \
  CONTRACT_UINT in_size[3], out_size[3], kernel[3], stride[3], dilation[3];      \
  CONTRACT_UINT pad[3], pad_end[3];

#ifdef __cplusplus
struct PoolParams {
  POOL_PARAMS
};
CONTRACT_PUSH_CHECK(PoolParams)
#endif

CONTRACT_END

#endif
