// shaders/gather.comp <-> engine/ops/gather.cpp.
#ifndef VKFUSE_GATHER_CONTRACT_H
#define VKFUSE_GATHER_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// y [outer, indices, inner] from x [outer, axis, inner].
#define GATHER_PARAMS                                             \
  CONTRACT_UINT n, axis, inner, indices;                          \
  CONTRACT_UINT off_x, off_idx, off_y;

#ifdef __cplusplus
struct GatherParams {
  GATHER_PARAMS
};
CONTRACT_PUSH_CHECK(GatherParams)
#endif

CONTRACT_END

#endif
