// shaders/layer_norm.comp <-> engine/ops/layer_norm.cpp.
#ifndef VKFUSE_LAYER_NORM_CONTRACT_H
#define VKFUSE_LAYER_NORM_CONTRACT_H
#include "contract.h"
CONTRACT_BEGIN

// flags
CONTRACT_CONST(LN_WEIGHT, 1u)
CONTRACT_CONST(LN_BIAS, 2u)
CONTRACT_CONST(LN_RESIDUAL, 4u)  // normalize x + residual

#define LAYER_NORM_PARAMS                                                     \
  CONTRACT_UINT rows, n, ldx, ldy, ldr, off_x, off_y, off_r, off_w, off_b;   \
  CONTRACT_UINT flags;                                                        \
  CONTRACT_FLOAT eps;

#ifdef __cplusplus
struct LayerNormParams {
  LAYER_NORM_PARAMS
};
CONTRACT_PUSH_CHECK(LayerNormParams)
#endif

CONTRACT_END

#endif
