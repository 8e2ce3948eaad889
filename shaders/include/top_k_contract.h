// shaders/top_k.comp <-> engine/ops/top_k.cpp.
#ifndef VKFUSE_TOP_K_CONTRACT_H
#define VKFUSE_TOP_K_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

#define TOP_K_PARAMS                                                  \
  CONTRACT_UINT rows, n, k, ldx, off_x, off_v, off_i;

#ifdef __cplusplus
struct TopKParams {
  TOP_K_PARAMS
};
CONTRACT_PUSH_CHECK(TopKParams)
#endif

CONTRACT_END

#endif
